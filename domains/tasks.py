"""Celery tasks for domains: thin wrappers around ``domains.verification`` and ``checks``."""

from datetime import datetime, timedelta

from celery import Task, shared_task
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from domains.checks import domain_health_check
from domains.models import CheckStatus, Domain
from domains.verification import domain_check

# Daily checks are spread over the day in this many slots, one beat run per slot.
HEALTH_SLOTS = 96
HEALTH_SLOT_MINUTES = 24 * 60 // HEALTH_SLOTS


def _load(domain_id: int) -> Domain | None:
    with scopes_disabled():
        return Domain.objects.select_related("tenant").filter(pk=domain_id).first()


@shared_task(acks_late=True, max_retries=3, default_retry_delay=60)
def check_domain(domain_id: int) -> str:
    domain = _load(domain_id)
    if domain is None:
        return "missing"
    with scope(tenant=domain.tenant_id):
        result = domain_check(domain=domain)
    return {True: "ok", False: "not_found", None: "unknown"}[result.ok]


@shared_task(bind=True, acks_late=True, max_retries=3, default_retry_delay=600)
def check_domain_health(self: Task, domain_id: int) -> str:
    """Ownership and every health check of a verified domain; retried when DNS was unsure."""
    domain = _load(domain_id)
    if domain is None or not domain.is_verified:
        return "skipped"
    with scope(tenant=domain.tenant_id):
        domain_check(domain=domain, tlsrpt=False)  # the health check stores TLS-RPT's state
        checks = domain_health_check(domain=domain)
    if any(c.status == CheckStatus.UNKNOWN for c in checks) and self.request.retries < 3:
        raise self.retry()
    return ",".join(f"{c.kind}:{c.status}" for c in checks)


@shared_task
def check_pending_domains() -> int:
    """Queue an ownership check for each domain still waiting to be verified."""
    cutoff = timezone.now() - timedelta(minutes=settings.DOMAIN_VERIFY_INTERVAL_MINUTES)
    with scopes_disabled():
        ids = list(
            Domain.objects.filter(verified_at__isnull=True)
            .filter(Q(checked_at__isnull=True) | Q(checked_at__lt=cutoff))
            .values_list("pk", flat=True)[:1000]
        )
    for domain_id in ids:
        check_domain.delay(domain_id)
    return len(ids)


def current_slot(now: datetime | None = None) -> int:
    now = now or timezone.now()
    return (now.hour * 60 + now.minute) // HEALTH_SLOT_MINUTES


@shared_task
def queue_health_checks() -> int:
    """Queue the daily health checks of this slot's verified domains (a slot per domain).

    Domains never checked, or not for over a day (a missed slot, the beat down), are
    queued too, so none waits a day for its first check.
    """
    stale = timezone.now() - timedelta(hours=26)
    with scopes_disabled():
        ids = list(
            Domain.objects.filter(verified_at__isnull=False)
            .alias(slot=F("pk") % HEALTH_SLOTS)
            .filter(
                Q(slot=current_slot())
                | Q(health_checked_at__isnull=True)
                | Q(health_checked_at__lt=stale)
            )
            .values_list("pk", flat=True)[:5000]
        )
    for domain_id in ids:
        check_domain_health.delay(domain_id)
    return len(ids)
