"""Shared steps of the webhook tests."""

from datetime import datetime

from django_scopes import scope

from accounts.models import Tenant
from reports.webhooks.events import envelope
from reports.webhooks.models import WebhookDelivery, WebhookEndpoint
from reports.webhooks.record import deliveries_record
from reports.webhooks.sending import deliveries_send
from reports.webhooks.services import webhook_endpoint_create

ALL_EVENTS = ["alert.opened", "alert.resolved", "report.received", "domain.verified"]


def make_endpoint(
    tenant: Tenant, url: str, events: list[str] | None = None, kind: str = "generic"
) -> tuple[WebhookEndpoint, str]:
    with scope(tenant=tenant):
        return webhook_endpoint_create(
            tenant=tenant, url=url, description="", kind=kind,
            events=ALL_EVENTS if events is None else events, actor=None,
        )  # fmt: skip


def record(endpoint: WebhookEndpoint, now: datetime, data: dict | None = None) -> WebhookDelivery:
    """A delivery of a made-up event to ``endpoint``, due at ``now``."""
    payload = envelope("domain.verified", data or {"tenant": "acme"}, now)
    with scope(tenant=endpoint.tenant_id):
        endpoints = {endpoint.tenant_id: [endpoint.pk]}
        return deliveries_record([(endpoint.tenant_id, payload)], endpoints, now)[0]


def send(delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
    with scope(tenant=delivery.tenant_id):
        deliveries_send(ids=[delivery.pk], now=now)
        delivery.refresh_from_db()
        return delivery


def endpoint_of(delivery: WebhookDelivery) -> WebhookEndpoint:
    with scope(tenant=delivery.tenant_id):
        return WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
