"""Celery tasks for the weekly digest: an hourly check fanned out per tenant (queue mail)."""

from datetime import date

from celery import shared_task
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant
from reports.digests.models import DigestDelivery
from reports.digests.weekly import digest_due, digest_send


@shared_task(name="reports.digest_tasks.queue_weekly_digests")
def queue_weekly_digests() -> int:
    """Queue the digest of every tenant whose digest time has come and that has none yet."""
    now = timezone.now()
    with scopes_disabled():
        tenants = Tenant.objects.filter(
            weekly_digest=True, domains__verified_at__isnull=False
        ).distinct()
        due = {t.pk: week for t in tenants if (week := digest_due(t, now)) is not None}
        started = set(
            DigestDelivery.objects.filter(tenant_id__in=due, week_start__in=set(due.values()))
            .values_list("tenant_id", "week_start")
            .distinct()
        )
    queued = 0
    for tenant_id, week_start in due.items():
        if (tenant_id, week_start) not in started:
            send_tenant_digest.delay(tenant_id, week_start.isoformat())
            queued += 1
    return queued


@shared_task(
    name="reports.digest_tasks.send_tenant_digest", bind=True, acks_late=True, max_retries=5
)
def send_tenant_digest(self, tenant_id: int, week_start: str) -> str:
    """Email one tenant's digest of one week; members who already have it are skipped."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return "missing"
    try:
        with scope(tenant=tenant.pk):
            sent = digest_send(tenant=tenant, week_start=date.fromisoformat(week_start))
    except OSError as e:  # SMTP errors included: the members not reached get it on retry
        # 1, 2, 4, 8, 16 minutes: well under the broker's visibility timeout.
        raise self.retry(exc=e, countdown=60 * 2**self.request.retries) from e
    return f"sent {sent}"
