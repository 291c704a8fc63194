"""The whole path with a real Celery worker: a report arrives by a door, the worker stores
it, and the same worker delivers its report.received, signed, to the receiver; a delivery
whose task was lost is queued again by the beat's sweep."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope
from standardwebhooks.webhooks import Webhook

from reports.inbound.store import inbound_store
from reports.models import Channel, Report
from reports.webhooks.events import envelope
from reports.webhooks.models import DeliveryStatus, WebhookDelivery
from reports.webhooks.tasks import sweep_deliveries
from tests.conftest import wait_until
from tests.factories import make_domain, make_tenant
from tests.reports.mail import report_json
from tests.webhooks.helpers import make_endpoint
from tests.webhooks.receiver import Receiver


def test_a_report_through_the_door_is_delivered_by_the_worker(
    receiver: Receiver, webhooks_worker: object
) -> None:
    acme = make_tenant("acme")
    make_domain(acme, "acme.test")
    _, secret = make_endpoint(acme, receiver.url(), ["report.received"])
    document = report_json(domain="acme.test", successful=40, failed=2)

    inbound_store(tenant=acme, channel=Channel.UPLOAD, raw=json.dumps(document).encode(),
                  filename="report.json")  # fmt: skip

    wait_until(lambda: len(receiver.received) == 1)
    payload = Webhook(secret).verify(receiver.received[0].body, receiver.received[0].headers)
    with scope(tenant=acme):
        report = Report.objects.get()
        wait_until(lambda: WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED)
        delivery = WebhookDelivery.objects.get()
    assert payload["data"]["report"]["id"] == report.pk
    assert (payload["data"]["report"]["successful"], payload["data"]["report"]["failed"]) == (40, 2)
    assert delivery.attempts == 1 and delivery.response_status == 200


@pytest.mark.django_db(transaction=True)
def test_the_sweep_queues_a_delivery_whose_task_was_lost(
    receiver: Receiver, webhooks_worker: object
) -> None:
    acme = make_tenant("acme")
    endpoint, secret = make_endpoint(acme, receiver.url(), ["domain.verified"])
    long_ago = timezone.now() - timedelta(minutes=10)
    # Written as if its task had been queued long ago and lost (a broker outage): no task.
    with scope(tenant=acme):
        delivery = WebhookDelivery.objects.create(
            tenant=acme, endpoint=endpoint, event_type="domain.verified", message_id="msg_lost",
            payload=envelope("domain.verified", {"tenant": "acme"}), created_at=long_ago,
            next_attempt_at=long_ago, queued_at=long_ago,
        )  # fmt: skip

    assert sweep_deliveries() == 1

    wait_until(lambda: len(receiver.received) == 1)
    Webhook(secret).verify(receiver.received[0].body, receiver.received[0].headers)
    with scope(tenant=acme):
        wait_until(
            lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SUCCEEDED
        )
    assert sweep_deliveries() == 0
