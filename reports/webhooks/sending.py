"""Sending due deliveries, and what each answer does to the delivery and its endpoint.

A delivery is claimed before its attempt by a conditional UPDATE that moves its
``next_attempt_at`` a lease ahead, so two workers never send it at once and a worker that
dies mid-attempt leaves it due again when the lease ends (the sweep queues it). Then:

- 2xx: delivered.
- 410 Gone: the receiver asks us to stop; the endpoint is disabled, saying why.
- anything else, or no answer: retried after 5 s, 5 min, 30 min, 2 h, 5 h and 10 h (each
  ±10 % jitter), about 17.6 hours in all; after the seventh attempt the delivery failed.
- an endpoint whose deliveries have failed without a success for 3 days is disabled and its
  tenant's admins are e-mailed.

Every time comes from the ``now`` passed in, so tests drive the schedule with a clock.
"""

import random
from datetime import datetime, timedelta

import msgspec
from django.db import transaction
from django.utils import timezone

from reports.webhooks import formats
from reports.webhooks.delivery import PostResult, post
from reports.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from reports.webhooks.signing import signed_headers, signing_secrets
from tlsrpt_saas.queueing import task_queue_on_commit

RETRY_DELAYS = [
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30),
    timedelta(hours=2), timedelta(hours=5), timedelta(hours=10),
]  # fmt: skip
JITTER = 0.1
LEASE = timedelta(minutes=2)  # longer than an attempt's 10-second deadline, with margin
DISABLE_AFTER = timedelta(days=3)
SEND_DISABLED_EMAIL = "reports.webhooks.send_disabled_email"


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta | None:
    """How long after failed attempt number ``attempts`` (1-based) the next one is; None:
    no more."""
    if attempts > len(RETRY_DELAYS):
        return None
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)
    return RETRY_DELAYS[attempts - 1] * factor


def deliveries_send(*, ids: list[int], now: datetime | None = None) -> int:
    """Attempt each delivery of ``ids`` that is due and claimed here; how many were attempted.

    The caller is in the deliveries' tenant's scope.
    """
    attempted = 0
    endpoints: dict[int, WebhookEndpoint] = {}
    for pk in ids:
        at = now or timezone.now()
        claimed = WebhookDelivery.objects.filter(
            pk=pk, status=DeliveryStatus.PENDING, next_attempt_at__lte=at
        ).update(next_attempt_at=at + LEASE)
        if not claimed:
            continue
        delivery = WebhookDelivery.objects.get(pk=pk)
        endpoint = endpoints.get(delivery.endpoint_id)
        if endpoint is None:
            endpoint = endpoints[delivery.endpoint_id] = WebhookEndpoint.objects.get(
                pk=delivery.endpoint_id
            )
        delivery_attempt(delivery=delivery, endpoint=endpoint, now=at)
        attempted += 1
    return attempted


def delivery_attempt(
    *, delivery: WebhookDelivery, endpoint: WebhookEndpoint, now: datetime
) -> PostResult | None:
    """Send ``delivery`` once (it is claimed) and record the outcome; None if the endpoint
    is off, which fails the delivery without sending."""
    endpoint.refresh_from_db(fields=["enabled", "disabled_reason", "failing_since"])
    if not endpoint.enabled:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        delivery.error = "Not sent: the endpoint is turned off."
        delivery.save(update_fields=["status", "next_attempt_at", "error"])
        return None
    body = formats.body_for(endpoint.kind, delivery.payload)
    headers = signed_headers(signing_secrets(endpoint, now), delivery.message_id, body)
    result = post(endpoint.url, body, headers)
    with transaction.atomic():
        _record(delivery, result, now)
        _endpoint_after(endpoint, result, now)
    return result


def _record(delivery: WebhookDelivery, result: PostResult, now: datetime) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_status, delivery.response_body = result.status, result.body
    delivery.latency_ms, delivery.error = result.latency_ms, result.error
    delivery.queued_at = None
    if result.ok:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
        delivery.delivered_at = now
    elif result.status == 410 or (delay := retry_delay(delivery.attempts)) is None:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        delivery.next_attempt_at = now + delay
    delivery.save()


def _endpoint_after(endpoint: WebhookEndpoint, result: PostResult, now: datetime) -> None:
    if result.ok:
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            endpoint.save(update_fields=["failing_since"])
        return
    if result.status == 410:
        _disable(endpoint, f"The endpoint answered 410 Gone on {now:%d %b %Y %H:%M} UTC, "
                 "which asks for no more deliveries.")  # fmt: skip
        return
    endpoint.failing_since = endpoint.failing_since or now
    if now - endpoint.failing_since >= DISABLE_AFTER:
        _disable(endpoint, f"Every delivery failed since {endpoint.failing_since:%d %b %Y %H:%M} "
                 "UTC (3 days or more).")  # fmt: skip
        task_queue_on_commit(SEND_DISABLED_EMAIL, endpoint.pk)
    else:
        endpoint.save(update_fields=["failing_since"])


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.enabled, endpoint.disabled_reason = False, reason
    endpoint.save(update_fields=["enabled", "disabled_reason", "failing_since"])


def payload_bytes(payload: dict) -> bytes:
    return msgspec.json.encode(payload)
