"""Celery tasks for domains: id in, the row's tenant scope entered, one service called.

Task names are Celery's defaults (``domains.tasks.<function>``): the beat schedule, the
routes and ``domains.verification`` (which queues by name) use them.
"""

from celery import Task, shared_task
from django.utils import timezone

from accounts.tenancy import row_scope
from domains.health import domain_health_refresh
from domains.models import CheckStatus, Domain
from domains.sweeps import domains_health_due, domains_pending_check
from domains.verification import domain_check


@shared_task(acks_late=True, max_retries=3, default_retry_delay=60)
def check_domain(domain_id: int) -> str:
    with row_scope(Domain, domain_id) as domain:
        if domain is None:
            return "missing"
        result = domain_check(domain=domain)
    return {True: "ok", False: "not_found", None: "unknown"}[result.ok]


@shared_task(bind=True, acks_late=True, max_retries=3, default_retry_delay=600)
def check_domain_health(self: Task, domain_id: int) -> str:
    """Ownership and every health check of a verified domain; retried when DNS was unsure."""
    with row_scope(Domain, domain_id) as domain:
        if domain is None or not domain.is_verified:
            return "skipped"
        checks = domain_health_refresh(domain=domain)
    if any(c.status == CheckStatus.UNKNOWN for c in checks) and self.request.retries < 3:
        raise self.retry()
    return ",".join(f"{c.kind}:{c.status}" for c in checks)


@shared_task
def check_pending_domains() -> int:
    """Queue an ownership check for each domain still waiting to be verified."""
    ids = domains_pending_check(now=timezone.now())
    for domain_id in ids:
        check_domain.delay(domain_id)
    return len(ids)


@shared_task
def queue_health_checks() -> int:
    """Queue the daily health checks of this slot's verified domains (a slot per domain)."""
    ids = domains_health_due(now=timezone.now())
    for domain_id in ids:
        check_domain_health.delay(domain_id)
    return len(ids)
