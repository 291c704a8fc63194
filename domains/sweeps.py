"""Which domains of all tenants the beat's sweeps take: reads across tenants.

Each is a true cross-tenant sweep (``accounts.tenancy.across_tenants``): it reads ids
only, and the task it feeds enters each domain's own tenant.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q

from accounts.tenancy import across_tenants
from domains.models import Domain

# Daily checks are spread over the day in this many slots, one beat run per slot.
HEALTH_SLOTS = 96
HEALTH_SLOT_MINUTES = 24 * 60 // HEALTH_SLOTS


def current_slot(now: datetime) -> int:
    return (now.hour * 60 + now.minute) // HEALTH_SLOT_MINUTES


def domains_pending_check(*, now: datetime, limit: int = 1000) -> list[int]:
    """Domains waiting to be verified, not checked in DOMAIN_VERIFY_INTERVAL_MINUTES."""
    cutoff = now - timedelta(minutes=settings.DOMAIN_VERIFY_INTERVAL_MINUTES)
    with across_tenants("beat: ownership checks of every tenant's pending domains"):
        return list(
            Domain.objects.filter(verified_at__isnull=True)
            .filter(Q(checked_at__isnull=True) | Q(checked_at__lt=cutoff))
            .values_list("pk", flat=True)[:limit]
        )


def domains_health_due(*, now: datetime, limit: int = 5000) -> list[int]:
    """Verified domains whose slot of the day this is, or never checked or not for a day.

    Domains never checked, or not for over a day (a missed slot, the beat down), are
    due too, so none waits a day for its first check.
    """
    stale = now - timedelta(hours=26)
    with across_tenants("beat: daily DNS health checks of every tenant's verified domains"):
        return list(
            Domain.objects.filter(verified_at__isnull=False)
            .alias(slot=F("pk") % HEALTH_SLOTS)
            .filter(
                Q(slot=current_slot(now))
                | Q(health_checked_at__isnull=True)
                | Q(health_checked_at__lt=stale)
            )
            .values_list("pk", flat=True)[:limit]
        )
