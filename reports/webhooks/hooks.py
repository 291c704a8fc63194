"""Where events happen, their webhooks are recorded: one call per kind of event.

Called inside the transaction of the event (an alert opened or resolved, a batch of
reports stored, a digest sent), and connected to domains' ``domain_event`` signal in
``ReportsConfig.ready``. Each costs one query when the tenant has no endpoint for it.
"""

from collections.abc import Iterable
from datetime import date
from typing import Any

from accounts.models import Tenant
from domains.models import DnsCheck, Domain
from reports.models import Alert
from reports.webhooks import events
from reports.webhooks.events import ReportFacts
from reports.webhooks.record import deliveries_record, endpoints_for, event_record


def alert_event(alert: Alert, event_type: str) -> int:
    if not (endpoints := endpoints_for([alert.tenant_id], event_type)):
        return 0
    return event_record(alert.tenant_id, events.alert_payload(alert, event_type), endpoints)


def reports_received(stored: Iterable[ReportFacts]) -> int:
    """report.received for each report a batch stored: one query for all its tenants, then
    one insert for all deliveries."""
    stored = list(stored)
    if not stored:  # a batch of duplicates or unattributed reports: no query at all
        return 0
    endpoints = endpoints_for({f.tenant_id for f in stored}, "report.received")
    if not endpoints:
        return 0
    wanted = [f for f in stored if f.tenant_id in endpoints]
    slugs = dict(Tenant.objects.filter(pk__in=endpoints).values_list("pk", "slug"))
    domain_ids = {p.domain_id for f in wanted for p in f.policies if p.domain_id}
    names = dict(Domain.objects.filter(pk__in=domain_ids).values_list("pk", "name"))
    payloads = [(f.tenant_id, events.report_payload(f, slugs[f.tenant_id], names)) for f in wanted]
    return len(deliveries_record(payloads, endpoints))


def domain_event_received(sender: Any, domain: Domain, kind: str, data: dict, **_: Any) -> None:
    """The receiver of ``domains.events.domain_event``."""
    if kind not in events.EVENT_TYPES:
        return
    if not (endpoints := endpoints_for([domain.tenant_id], kind)):
        return
    slug = Tenant.objects.values_list("slug", flat=True).get(pk=domain.tenant_id)
    extra = dict(data)
    check = extra.pop("check", None)
    if isinstance(check, DnsCheck):
        extra.update(events.check_extra(check))
    event_record(domain.tenant_id, events.domain_payload(kind, domain, slug, extra), endpoints)


def digest_ready(tenant: Tenant, start: date, end: date, rows: list[dict], link: str) -> int:
    if not (endpoints := endpoints_for([tenant.pk], "digest.ready")):
        return 0
    payload = events.digest_payload(tenant.slug, start.isoformat(), end.isoformat(), rows, link)
    return event_record(tenant.pk, payload, endpoints)
