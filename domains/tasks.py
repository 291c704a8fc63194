"""Celery tasks for domains: thin wrappers around ``domains.verification``."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from domains.models import Domain
from domains.verification import domain_check


@shared_task(acks_late=True, max_retries=3, default_retry_delay=60)
def check_domain(domain_id: int) -> str:
    with scopes_disabled():
        domain = Domain.objects.select_related("tenant").filter(pk=domain_id).first()
    if domain is None:
        return "missing"
    with scope(tenant=domain.tenant_id):
        result = domain_check(domain=domain)
    return {True: "ok", False: "not_found", None: "unknown"}[result.ok]


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
