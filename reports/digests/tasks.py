"""Celery tasks for the weekly digest: an hourly check fanned out per tenant (queue mail).

Task names stay ``reports.digest_tasks.*``, as before the move into this package."""

from datetime import date

from celery import Task, shared_task
from django.utils import timezone

from accounts.models import Tenant
from accounts.tenancy import row_scope
from reports.digests.weekly import digest_send, digests_due


@shared_task(name="reports.digest_tasks.queue_weekly_digests")
def queue_weekly_digests() -> int:
    """Queue the digest of every tenant whose digest time has come and that has none yet."""
    due = digests_due(timezone.now())
    for tenant_id, week_start in due.items():
        send_tenant_digest.delay(tenant_id, week_start.isoformat())
    return len(due)


@shared_task(
    name="reports.digest_tasks.send_tenant_digest", bind=True, acks_late=True, max_retries=5
)
def send_tenant_digest(self: Task, tenant_id: int, week_start: str) -> str:
    """Email one tenant's digest of one week; members who already have it are skipped."""
    try:
        with row_scope(Tenant, tenant_id) as tenant:
            if tenant is None:
                return "missing"
            sent = digest_send(tenant=tenant, week_start=date.fromisoformat(week_start))
    except OSError as e:  # SMTP errors included: the members not reached get it on retry
        # 1, 2, 4, 8, 16 minutes: well under the broker's visibility timeout.
        raise self.retry(exc=e, countdown=60 * 2**self.request.retries) from e
    return f"sent {sent}"
