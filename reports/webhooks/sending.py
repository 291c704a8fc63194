"""Sending due deliveries, and what each answer does to the delivery and its endpoint.

A chunk of deliveries is claimed before its attempts by a conditional UPDATE that moves
their ``next_attempt_at`` a lease ahead, so two workers never send one at once and a worker
that dies mid-chunk leaves them due again when the lease ends (the sweep queues them).
Then, for each answer:

- 2xx: delivered.
- 410 Gone: the receiver asks us to stop; the endpoint is disabled, saying why.
- anything else, or no answer: retried after 5 s, 5 min, 30 min, 2 h, 5 h and 10 h (each
  ±10 % jitter), about 17.6 hours in all; after the seventh attempt the delivery failed.
- an endpoint whose deliveries have failed without a success for 3 days is disabled and its
  tenant's admins are e-mailed.

Every time comes from the ``now`` passed in, so tests drive the schedule with a clock.
"""

import random
import secrets
import time
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field
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
# A claimed chunk is leased for every attempt's whole deadline and a minute more.
LEASE_BASE = 60.0
FLUSH_SECONDS = 2.0
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

    Two queries claim and read the chunk; outcomes are written together, at the latest
    every ``FLUSH_SECONDS`` (a worker dying in between sends those again after the lease:
    at least once). The caller is in the deliveries' tenant's scope.
    """
    deliveries = _claim(ids, now or timezone.now())
    if not deliveries:
        return 0
    pks = {d.endpoint_id for d in deliveries}
    endpoints = {e.pk: e for e in WebhookEndpoint.objects.filter(pk__in=pks)}
    outcome = _Outcome()
    flushed = time.monotonic()
    for delivery in deliveries:
        endpoint = endpoints[delivery.endpoint_id]
        delivery_attempt(delivery=delivery, endpoint=endpoint, now=now, outcome=outcome)
        if time.monotonic() - flushed > FLUSH_SECONDS:
            outcome.flush()
            flushed = time.monotonic()
    outcome.flush()
    return len(deliveries)


def _claim(ids: list[int], at: datetime) -> list[WebhookDelivery]:
    """The deliveries of ``ids`` due at ``at``, leased to this call: a conditional UPDATE
    moves them a lease ahead to a time of this call's own, which reads them back by it (a
    concurrent claim's UPDATE finds them no longer due)."""
    lease = timedelta(seconds=LEASE_BASE + len(ids) * settings.WEBHOOKS_TIMEOUT)
    until = at + lease + timedelta(microseconds=secrets.randbelow(1_000_000))
    due = WebhookDelivery.objects.filter(
        pk__in=ids, status=DeliveryStatus.PENDING, next_attempt_at__lte=at
    )
    if not due.update(next_attempt_at=until):
        return []
    return list(WebhookDelivery.objects.filter(pk__in=ids, next_attempt_at=until).order_by("pk"))


class _Outcome:
    """Attempted deliveries and changed endpoints, written in one transaction."""

    def __init__(self) -> None:
        self.deliveries: list[WebhookDelivery] = []
        self.endpoints: dict[int, WebhookEndpoint] = {}
        self.disabled_failing: set[int] = set()
        self._secrets: dict[int, list[str]] = {}

    def secrets(self, endpoint: WebhookEndpoint, at: datetime) -> list[str]:
        """The endpoint's signing secrets, decrypted once per chunk."""
        if endpoint.pk not in self._secrets:
            self._secrets[endpoint.pk] = signing_secrets(endpoint, at)
        return self._secrets[endpoint.pk]

    def flush(self) -> None:
        if not (self.deliveries or self.endpoints):
            return
        with transaction.atomic():
            _results_write(self.deliveries)
            for endpoint in self.endpoints.values():
                endpoint.save(update_fields=["enabled", "disabled_reason", "failing_since"])
            for pk in self.disabled_failing:
                task_queue_on_commit(SEND_DISABLED_EMAIL, pk)
        self.deliveries, self.endpoints, self.disabled_failing = [], {}, set()


_RESULT_FIELDS = [
    "status", "attempts", "next_attempt_at", "queued_at", "last_attempt_at", "delivered_at",
    "response_status", "response_body", "latency_ms", "error",
]  # fmt: skip


def _results_write(deliveries: list[WebhookDelivery]) -> None:
    """One UPDATE per delivery, sent as one batch (``executemany``): bulk_update's CASE
    expressions cost more to build than the attempts themselves."""
    fields = [cast(Field, WebhookDelivery._meta.get_field(name)) for name in _RESULT_FIELDS]
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    rows = [
        [f.get_db_prep_save(getattr(d, f.attname), connection) for f in fields] + [d.pk]
        for d in deliveries
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", rows)  # noqa: S608


def delivery_attempt(
    *, delivery: WebhookDelivery, endpoint: WebhookEndpoint, now: datetime | None = None,
    outcome: _Outcome | None = None,
) -> PostResult | None:  # fmt: skip
    """Send ``delivery`` once (it is claimed) and record the outcome (written at once, or by
    ``outcome``); None if the endpoint is off, which fails the delivery without sending.
    ``endpoint`` is read once per chunk, which also sees it turned off by an answer here."""
    pending = outcome or _Outcome()
    pending.deliveries.append(delivery)
    result = None
    if not endpoint.enabled:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        delivery.error = "Not sent: the endpoint is turned off."
        delivery.queued_at = None
    else:
        at = now or timezone.now()
        body = formats.body_for(endpoint.kind, delivery.payload)
        headers = signed_headers(pending.secrets(endpoint, at), delivery.message_id, body)
        result = post(endpoint.url, body, headers)
        _record(delivery, result, at)
        _endpoint_after(endpoint, result, at, pending)
    if outcome is None:
        pending.flush()
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


def _endpoint_after(
    endpoint: WebhookEndpoint, result: PostResult, now: datetime, outcome: _Outcome
) -> None:
    if result.ok:
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            outcome.endpoints[endpoint.pk] = endpoint
        return
    outcome.endpoints[endpoint.pk] = endpoint
    if result.status == 410:
        endpoint.enabled = False
        endpoint.disabled_reason = (
            f"The endpoint answered 410 Gone on {now:%d %b %Y %H:%M} UTC, which asks for no "
            "more deliveries."
        )
        return
    endpoint.failing_since = endpoint.failing_since or now
    if now - endpoint.failing_since >= DISABLE_AFTER:
        endpoint.enabled = False
        endpoint.disabled_reason = (
            f"Every delivery failed since {endpoint.failing_since:%d %b %Y %H:%M} UTC "
            "(3 days or more)."
        )
        outcome.disabled_failing.add(endpoint.pk)
