"""Deliveries due and not queued, of every tenant: what the beat sweep queues again; and
the purge of delivery logs past ``WEBHOOKS_LOG_DAYS``.

A delivery is queued when its event commits; a retry is left due for this sweep. The
sweep also finds deliveries whose task was lost (the broker down when the event
committed, a worker killed mid-attempt: its lease ends) once ``STALE`` has passed.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from accounts.tenancy import across_tenants
from reports.webhooks.models import DeliveryStatus, WebhookDelivery

STALE = timedelta(minutes=5)  # a queued delivery not attempted by then is queued again
MAX_PER_SWEEP = 5000


def deliveries_due(now: datetime) -> dict[int, list[int]]:
    """Claim (mark queued) the deliveries due and not queued; their ids, by tenant."""
    with across_tenants("beat: webhook deliveries due and not queued, of every tenant"):
        due = (
            WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - STALE))
            .order_by("next_attempt_at")
            .values_list("pk", "tenant_id")[:MAX_PER_SWEEP]
        )
        by_tenant: dict[int, list[int]] = defaultdict(list)
        for pk, tenant_id in due:
            by_tenant[tenant_id].append(pk)
        ids = [pk for pks in by_tenant.values() for pk in pks]
        WebhookDelivery.objects.filter(pk__in=ids).update(queued_at=now)
    return dict(by_tenant)


PURGE_BATCH = 5000


def deliveries_purge(now: datetime) -> int:
    """Delete finished deliveries older than ``WEBHOOKS_LOG_DAYS``, in batches; how many."""
    cutoff = now - timedelta(days=settings.WEBHOOKS_LOG_DAYS)
    deleted = 0
    with across_tenants("retention: deletes every tenant's old webhook deliveries"):
        old = WebhookDelivery.objects.filter(created_at__lt=cutoff).exclude(
            status=DeliveryStatus.PENDING
        )
        while ids := list(old.values_list("pk", flat=True)[:PURGE_BATCH]):
            deleted += WebhookDelivery.objects.filter(pk__in=ids).delete()[0]
    return deleted
