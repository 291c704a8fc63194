"""When a domain is removed: delete the reports that were about it alone.

A report that also covered another of the tenant's domains stays, without this domain's
policies (they go with the domain, as do its rollups). Connected to
``domains.lifecycle.domain_removing`` when the app is ready.
"""

from typing import Any

from django.db.models import Exists, OuterRef
from django.dispatch import receiver

from domains.lifecycle import domain_removing
from domains.models import Domain
from reports.models import PolicyResult, Report


@receiver(domain_removing)
def reports_of_domain_delete(sender: Any, *, domain: Domain, **kwargs: Any) -> int:
    """Delete the reports about ``domain`` alone; how many there were."""
    about_other = PolicyResult.objects.filter(report=OuterRef("pk"), domain__isnull=False).exclude(
        domain=domain
    )
    reports = Report.objects.filter(policies__domain=domain).exclude(Exists(about_other))
    deleted = reports.distinct().count()
    Report.objects.filter(pk__in=reports.values("pk")).delete()
    return deleted
