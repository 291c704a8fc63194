"""Celery tasks of webhooks (queue ``webhooks``; the e-mail on ``mail``). Names are stable.

Sending takes a tenant and delivery ids (a chunk of one event batch), enters that tenant's
scope and sends what is due; the sweep, every 5 seconds in beat, queues retries that came
due and deliveries whose task was lost.
"""

from celery import shared_task
from django.utils import timezone
from django_scopes import scope

from accounts.models import Tenant
from accounts.tenancy import row_scope
from reports.webhooks.mail import endpoint_disabled_notify
from reports.webhooks.models import WebhookEndpoint
from reports.webhooks.record import send_now
from reports.webhooks.sending import deliveries_send
from reports.webhooks.sweeps import deliveries_due, deliveries_purge


@shared_task(name="reports.webhooks.send_deliveries", acks_late=True)
def send_deliveries(tenant_id: int, ids: list[int]) -> int:
    if not Tenant.objects.filter(pk=tenant_id).exists():
        return 0
    with scope(tenant=tenant_id):
        return deliveries_send(ids=ids)


@shared_task(name="reports.webhooks.sweep_deliveries")
def sweep_deliveries() -> int:
    due = deliveries_due(timezone.now())
    send_now(due)
    return sum(len(ids) for ids in due.values())


@shared_task(name="reports.webhooks.purge_deliveries")
def purge_deliveries() -> int:
    return deliveries_purge(timezone.now())


@shared_task(
    name="reports.webhooks.send_disabled_email", acks_late=True, max_retries=5,
    default_retry_delay=300, bind=True,
)  # fmt: skip
def send_disabled_email(self, endpoint_id: int) -> int:  # type: ignore[no-untyped-def]
    with row_scope(WebhookEndpoint, endpoint_id, "tenant") as endpoint:
        if endpoint is None:
            return 0
        try:
            return endpoint_disabled_notify(endpoint=endpoint)
        except OSError as e:
            raise self.retry(exc=e) from e
