"""Writing delivery rows for events, in the transaction of the event, sent once it commits.

``deliveries_record`` is the one way: it finds the tenant's enabled endpoints subscribed to
the event (one query), writes one row per (event, endpoint) in one statement, and queues
their sending on commit. A batch of reports asks once for all its tenants
(``endpoints_for``), so a tenant without endpoints costs a batch one query, none per report.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from reports.webhooks.events import ping_payload
from reports.webhooks.models import WebhookDelivery, WebhookEndpoint
from reports.webhooks.signing import message_id_new
from tlsrpt_saas.queueing import task_queue

SEND_DELIVERIES = "reports.webhooks.send_deliveries"
CHUNK = 50  # deliveries per sending task


def endpoints_for(tenant_ids: Iterable[int], event_type: str) -> dict[int, list[int]]:
    """The enabled endpoints of these tenants that take ``event_type``: their ids, by tenant."""
    found: dict[int, list[int]] = defaultdict(list)
    rows = WebhookEndpoint.objects.filter(tenant_id__in=set(tenant_ids), enabled=True)
    for pk, tenant_id, events in rows.values_list("pk", "tenant_id", "events").order_by("pk"):
        if event_type in events:  # JSON containment is not portable to SQLite: in Python
            found[tenant_id].append(pk)
    return dict(found)


def deliveries_record(
    events: list[tuple[int, dict]], endpoints: dict[int, list[int]], now: datetime | None = None
) -> list[WebhookDelivery]:
    """One delivery per (tenant's event, that tenant's endpoint), written in one statement.

    ``events`` are (tenant id, payload); ``endpoints`` from ``endpoints_for``.
    """
    now = now or timezone.now()
    rows = [
        _row(tenant_id, endpoint_id, payload, now)
        for tenant_id, payload in events
        for endpoint_id in endpoints.get(tenant_id, ())
    ]
    if not rows:
        return []
    created = WebhookDelivery.objects.bulk_create(rows)
    send_on_commit(created)
    return created


def _row(tenant_id: int, endpoint_id: int, payload: dict, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        tenant_id=tenant_id, endpoint_id=endpoint_id, event_type=payload["type"],
        message_id=message_id_new(), payload=payload, created_at=now,
        next_attempt_at=now, queued_at=now,
    )  # fmt: skip


def event_record(
    tenant_id: int, payload: dict, endpoints: dict[int, list[int]] | None = None
) -> int:
    """Record one event of one tenant for its subscribed endpoints (``endpoints_for``'s
    answer when the caller has it); how many deliveries."""
    if endpoints is None:
        endpoints = endpoints_for([tenant_id], payload["type"])
    return len(deliveries_record([(tenant_id, payload)], endpoints)) if endpoints else 0


def send_on_commit(deliveries: list[WebhookDelivery]) -> None:
    """Queue the sending of ``deliveries`` once the transaction commits, by tenant, in chunks."""
    by_tenant: dict[int, list[int]] = defaultdict(list)
    for delivery in deliveries:
        by_tenant[delivery.tenant_id].append(delivery.pk)
    # robust: a broker that is down must not fail the event; the sweep queues them later.
    transaction.on_commit(lambda: send_now(by_tenant), robust=True)


def send_now(by_tenant: dict[int, list[int]]) -> None:
    for tenant_id, ids in by_tenant.items():
        for start in range(0, len(ids), CHUNK):
            task_queue(SEND_DELIVERIES, tenant_id, ids[start : start + CHUNK])


def delivery_test(*, endpoint: WebhookEndpoint, slug: str) -> WebhookDelivery:
    """A ``webhook.test`` event for this endpoint alone, sent once this commits."""
    with transaction.atomic():
        return deliveries_record(
            [(endpoint.tenant_id, ping_payload(slug, endpoint.pk))],
            {endpoint.tenant_id: [endpoint.pk]},
        )[0]


def delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """The same event again (same payload and ``webhook-id``), as a new delivery."""
    now = timezone.now()
    with transaction.atomic():
        copy = WebhookDelivery.objects.create(
            tenant_id=delivery.tenant_id, endpoint_id=delivery.endpoint_id,
            event_type=delivery.event_type, message_id=delivery.message_id,
            payload=delivery.payload, created_at=now, next_attempt_at=now, queued_at=now,
        )  # fmt: skip
        send_on_commit([copy])
    return copy
