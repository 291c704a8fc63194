"""The webhook pages: an admin adds an endpoint and sees its secret once; the delivery log
shows each delivery's outcome; test events and resends make new deliveries."""

import io
import re

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_scopes import scope
from standardwebhooks.webhooks import Webhook

from accounts.models import Role
from reports.inbound.secrets import secret_decrypt
from reports.webhooks.models import WebhookDelivery, WebhookEndpoint
from reports.webhooks.services import webhook_endpoint_rotate
from tests.factories import make_member, make_tenant, owner_of
from tests.web import login
from tests.webhooks.helpers import make_endpoint

pytestmark = pytest.mark.django_db


def _secret_in(page: str) -> str:
    found = re.search(r"whsec_[A-Za-z0-9+/=]+", page)
    assert found, "no secret on the page"
    return found.group(0)


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(client: Client) -> None:
    tenant = make_tenant("acme")
    login(client, owner_of(tenant))
    response = client.post(reverse("webhook_new", args=["acme"]), {
        "url": "https://hooks.example/in", "description": "Ops", "kind": "slack",
        "events": ["alert.opened", "report.received"], "enabled": "on",
    })  # fmt: skip
    assert response.status_code == 200
    secret = _secret_in(response.content.decode())
    with scope(tenant=tenant):
        endpoint = WebhookEndpoint.objects.get()
    assert secret_decrypt(endpoint.secret_encrypted) == secret
    assert secret not in endpoint.secret_encrypted
    assert (endpoint.kind, endpoint.events) == ("slack", ["alert.opened", "report.received"])
    Webhook(secret)  # a valid Standard Webhooks secret

    page = client.get(reverse("webhook_detail", args=["acme", endpoint.pk])).content.decode()
    assert "https://hooks.example/in" in page and secret not in page


def test_http_urls_are_refused_unless_allowed(client: Client, settings) -> None:
    tenant = make_tenant("acme")
    login(client, owner_of(tenant))
    data = {"url": "http://hooks.example/in", "kind": "generic", "events": ["alert.opened"]}
    settings.WEBHOOKS_ALLOW_HTTP = False
    response = client.post(reverse("webhook_new", args=["acme"]), data)
    assert "plain HTTP is not allowed" in response.content.decode()
    settings.WEBHOOKS_ALLOW_HTTP = True
    assert client.post(reverse("webhook_new", args=["acme"]), data).status_code == 200
    with scope(tenant=tenant):
        assert WebhookEndpoint.objects.count() == 1


def test_the_log_shows_outcomes_and_members_cannot_manage(client: Client) -> None:
    tenant = make_tenant("acme")
    endpoint, _ = make_endpoint(tenant, "https://hooks.example/in")
    with scope(tenant=tenant):
        WebhookDelivery.objects.create(
            tenant=tenant, endpoint=endpoint, event_type="alert.opened", message_id="msg_x",
            payload={}, status="failed", attempts=7, response_status=503,
            response_body="Service Unavailable", latency_ms=42,
        )  # fmt: skip
    login(client, make_member(tenant, Role.MEMBER).user)
    page = client.get(reverse("webhook_detail", args=["acme", endpoint.pk])).content.decode()
    assert "503" in page and "Service Unavailable" in page and "42 ms" in page
    assert "Resend" not in page and "Rotate" not in page


def test_send_a_test_event_and_resend_make_deliveries(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    tenant = make_tenant("acme")
    endpoint, _ = make_endpoint(tenant, "https://hooks.example/in")
    login(client, owner_of(tenant))
    with django_capture_on_commit_callbacks() as queued:
        client.post(reverse("webhook_test", args=["acme", endpoint.pk]))
    with scope(tenant=tenant):
        test = WebhookDelivery.objects.get()
    assert test.event_type == "webhook.test" and len(queued) == 1

    with django_capture_on_commit_callbacks():
        client.post(reverse("webhook_resend", args=["acme", test.pk]))
    with scope(tenant=tenant):
        again = WebhookDelivery.objects.exclude(pk=test.pk).get()
    assert (again.message_id, again.payload) == (test.message_id, test.payload)


def test_rotation_shows_the_new_secret_and_keeps_the_old(client: Client) -> None:
    tenant = make_tenant("acme")
    endpoint, old = make_endpoint(tenant, "https://hooks.example/in")
    login(client, owner_of(tenant))
    response = client.post(reverse("webhook_rotate", args=["acme", endpoint.pk]))
    new = _secret_in(response.content.decode())
    with scope(tenant=tenant):
        endpoint.refresh_from_db()
    assert new != old
    assert secret_decrypt(endpoint.secret_encrypted) == new
    assert secret_decrypt(endpoint.previous_secret_encrypted) == old


def test_rotate_secrets_re_encrypts_webhook_secrets_with_the_new_key(settings) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    tenant = make_tenant("acme")
    endpoint, secret = make_endpoint(tenant, "https://hooks.example/in")
    with scope(tenant=tenant):
        previous = webhook_endpoint_rotate(endpoint=endpoint, actor=None)

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_secrets", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [new]

    with scope(tenant=tenant):
        endpoint.refresh_from_db()
    assert secret_decrypt(endpoint.secret_encrypted) == previous
    assert secret_decrypt(endpoint.previous_secret_encrypted) == secret
