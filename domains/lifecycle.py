"""Adding and removing a tenant's domains."""

from typing import cast

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.models import Tenant, User
from domains.hosting.serving import served_refresh_on_commit
from domains.models import Domain
from domains.names import DomainNameError, domain_name_validate

# Sent in domain_remove's transaction before the domain is deleted, with ``domain``; each
# receiver deletes what is about that domain alone and answers how many reports it deleted.
domain_removing = Signal()


def domain_add(
    *, tenant: Tenant, name: str, actor: User | None, request: HttpRequest | None = None
) -> Domain:
    """Add ``name`` (validated and normalised) to ``tenant``; DomainNameError if it cannot."""
    name = domain_name_validate(name)
    try:
        with transaction.atomic():
            domain = Domain.objects.create(tenant=tenant, name=name)
            audit_record(
                tenant=tenant, actor=actor, action="domain.added",
                summary=f"Added {name}", request=request,
            )  # fmt: skip
    except IntegrityError:
        raise DomainNameError(f"{name} is already one of this tenant's domains.") from None
    return domain


def domain_remove(*, domain: Domain, actor: User | None, request: HttpRequest | None = None) -> int:
    """Delete the domain, its rollups, and the reports that were about it alone.

    A report that also covered another of the tenant's domains stays, without this
    domain's policies. Returns how many reports were deleted: the reports app deletes
    them when told (``domain_removing``), since domains never imports reports.
    """
    with transaction.atomic():
        answers = domain_removing.send(sender=Domain, domain=domain)
        # Receivers answer an int; django-stubs types every answer as str | None.
        deleted = sum(cast(int, count) for _, count in answers)
        audit_record(
            tenant=domain.tenant, actor=actor, action="domain.removed",
            summary=f"Removed {domain.name} and {deleted} of its reports", request=request,
        )  # fmt: skip
        domain.delete()
        served_refresh_on_commit(domain.name)
    return deleted
