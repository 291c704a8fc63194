"""Sending webhooks to a real HTTPS receiver: signed, retried on a schedule, logged."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django_scopes import scope, scopes_disabled
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from reports.webhooks.models import DeliveryStatus, WebhookDelivery
from reports.webhooks.sending import RETRY_DELAYS
from reports.webhooks.services import webhook_endpoint_rotate
from reports.webhooks.sweeps import deliveries_purge
from reports.webhooks.tasks import send_disabled_email
from tests.factories import make_tenant
from tests.webhooks.helpers import endpoint_of, make_endpoint, record, send
from tests.webhooks.receiver import Answer, Receiver

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_delivery_is_posted_signed_and_logged(receiver: Receiver) -> None:
    endpoint, secret = make_endpoint(make_tenant("acme"), receiver.url())
    receiver.answers.append(Answer(200, b"thanks"))

    delivery = send(record(endpoint, T0, {"tenant": "acme", "n": 1}), T0)

    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert (delivery.attempts, delivery.response_status) == (1, 200)
    assert delivery.response_body == "thanks" and delivery.latency_ms is not None
    (request,) = receiver.received
    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["webhook-id"] == delivery.message_id
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "domain.verified" and payload["data"] == {"tenant": "acme", "n": 1}


def test_another_secret_does_not_verify(receiver: Receiver) -> None:
    endpoint, _ = make_endpoint(make_tenant("acme"), receiver.url())
    send(record(endpoint, T0), T0)
    (request,) = receiver.received
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(request.body, request.headers)


def test_retries_follow_the_schedule_then_the_delivery_fails(receiver: Receiver) -> None:
    endpoint, _ = make_endpoint(make_tenant("acme"), receiver.url())
    receiver.answers.append(Answer(500, b"down"))
    delivery = record(endpoint, T0)
    now = T0
    for attempt, delay in enumerate(RETRY_DELAYS, start=1):
        delivery = send(delivery, now)
        assert delivery.attempts == attempt
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.next_attempt_at is not None
        due = delivery.next_attempt_at
        assert delay * 0.9 <= due - now <= delay * 1.1
        # Not due a moment before: nothing is sent.
        assert send(delivery, due - timedelta(seconds=1)).attempts == attempt
        now = due
    delivery = send(delivery, now)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 7)
    assert delivery.next_attempt_at is None
    assert len(receiver.received) == 7
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1


def test_a_retry_that_succeeds_delivers(receiver: Receiver) -> None:
    endpoint, _ = make_endpoint(make_tenant("acme"), receiver.url())
    receiver.answers.extend([Answer(503), Answer(200)])
    delivery = send(record(endpoint, T0), T0)
    assert delivery.status == DeliveryStatus.PENDING
    assert endpoint_of(delivery).failing_since == T0

    assert delivery.next_attempt_at is not None
    delivery = send(delivery, delivery.next_attempt_at)

    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 2)
    assert endpoint_of(delivery).failing_since is None


def test_410_disables_the_endpoint_and_says_why(receiver: Receiver) -> None:
    endpoint, _ = make_endpoint(make_tenant("acme"), receiver.url())
    receiver.answers.append(Answer(410, b"gone"))
    first, second = record(endpoint, T0), record(endpoint, T0)

    assert send(first, T0).status == DeliveryStatus.FAILED
    endpoint = endpoint_of(first)
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert send(second, T0).status == DeliveryStatus.FAILED
    assert len(receiver.received) == 1


def test_an_endpoint_failing_for_3_days_is_disabled_and_its_admins_emailed(
    receiver: Receiver, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    endpoint, _ = make_endpoint(make_tenant("acme"), receiver.url())
    receiver.answers.append(Answer(500))
    send(record(endpoint, T0), T0)
    send(record(endpoint, T0 + timedelta(days=2)), T0 + timedelta(days=2))
    assert endpoint_of(record(endpoint, T0)).enabled

    later = T0 + timedelta(days=3, minutes=1)
    with django_capture_on_commit_callbacks() as queued:
        delivery = send(record(endpoint, later), later)

    endpoint = endpoint_of(delivery)
    assert not endpoint.enabled and "3 days" in endpoint.disabled_reason
    assert queued  # the e-mail, queued once this commits; the task sends it:
    send_disabled_email(endpoint.pk)
    (message,) = mailoutbox
    assert message.to == ["owner@acme.test"]
    assert endpoint.url in message.subject and "3 days" in message.body


def test_a_timeout_is_retried(receiver: Receiver, settings) -> None:
    endpoint, _ = make_endpoint(make_tenant("acme"), receiver.url())
    receiver.answers.append(Answer(200, delay=1.5))
    settings.WEBHOOKS_TIMEOUT = 0.5

    delivery = send(record(endpoint, T0), T0)

    assert delivery.status == DeliveryStatus.PENDING and delivery.response_status is None
    assert delivery.error.startswith("timeout")


def test_rotation_sends_both_signatures_for_24_hours(receiver: Receiver) -> None:
    endpoint, old = make_endpoint(make_tenant("acme"), receiver.url())
    with scope(tenant=endpoint.tenant_id):
        new = webhook_endpoint_rotate(endpoint=endpoint, actor=None, now=T0)

    send(record(endpoint, T0), T0 + timedelta(hours=23))
    send(record(endpoint, T0), T0 + timedelta(hours=25))

    during, after = receiver.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(during.body, during.headers)
    Webhook(new).verify(during.body, during.headers)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    endpoint, _ = make_endpoint(make_tenant("acme"), receiver.url())
    receiver.answers.append(Answer(302, location=receiver.url("/elsewhere")))

    delivery = send(record(endpoint, T0), T0)

    assert (delivery.status, delivery.response_status) == (DeliveryStatus.PENDING, 302)
    assert [r.path for r in receiver.received] == ["/hook"]


def test_the_answer_is_read_up_to_64_kb_and_1_kb_kept(receiver: Receiver) -> None:
    endpoint, _ = make_endpoint(make_tenant("acme"), receiver.url())
    receiver.answers.append(Answer(200, b"x" * 200_000))

    delivery = send(record(endpoint, T0), T0)

    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.response_body == "x" * 1024


def test_the_payload_is_json_as_documented(receiver: Receiver) -> None:
    endpoint, _ = make_endpoint(make_tenant("acme"), receiver.url())
    send(record(endpoint, T0), T0)
    body = json.loads(receiver.received[0].body)
    assert set(body) == {"type", "timestamp", "data"}


def test_finished_deliveries_leave_the_log_after_webhooks_log_days(
    receiver: Receiver, settings
) -> None:
    settings.WEBHOOKS_LOG_DAYS = 30
    endpoint, _ = make_endpoint(make_tenant("acme"), receiver.url())
    other, _ = make_endpoint(make_tenant("other"), receiver.url())
    old_done, old_other = send(record(endpoint, T0), T0), send(record(other, T0), T0)
    old_pending = record(endpoint, T0)  # never attempted: still owed, kept
    recent = send(record(endpoint, T0 + timedelta(days=20)), T0 + timedelta(days=20))

    assert deliveries_purge(T0 + timedelta(days=31)) == 2

    with scopes_disabled():
        left = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert left == {old_pending.pk, recent.pk}
    assert old_done.pk not in left and old_other.pk not in left
