"""Writing a tenant's webhook endpoints: create, change, rotate the secret, switch, remove.

Each write is one transaction with its audit row. A secret is returned to the caller
once (to be shown once) and stored encrypted.
"""

from datetime import datetime

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Tenant, User
from reports.inbound.secrets import secret_encrypt
from reports.webhooks.models import WebhookEndpoint
from reports.webhooks.signing import ROTATION_OVERLAP, secret_new


def webhook_endpoint_create(
    *, tenant: Tenant, url: str, description: str, kind: str, events: list[str],
    enabled: bool = True, actor: User | None, request: HttpRequest | None = None,
) -> tuple[WebhookEndpoint, str]:  # fmt: skip
    """The new endpoint and its secret (to be shown once)."""
    secret = secret_new()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            tenant=tenant, url=url, description=description, kind=kind, events=sorted(events),
            enabled=enabled, secret_encrypted=secret_encrypt(secret),
        )  # fmt: skip
        audit_record(
            tenant=tenant, actor=actor, action="webhook.added",
            summary=f"Added the webhook {url}", request=request,
        )  # fmt: skip
    return endpoint, secret


def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, url: str, description: str, kind: str, events: list[str],
    enabled: bool, actor: User | None, request: HttpRequest | None = None,
) -> WebhookEndpoint:  # fmt: skip
    with transaction.atomic():
        endpoint.url, endpoint.description, endpoint.kind = url, description, kind
        endpoint.events = sorted(events)
        _enabled_set(endpoint, enabled)
        endpoint.save()
        audit_record(
            tenant=endpoint.tenant, actor=actor, action="webhook.changed",
            summary=f"Changed the webhook {url}", request=request,
        )  # fmt: skip
    return endpoint


def _enabled_set(endpoint: WebhookEndpoint, enabled: bool) -> None:
    if enabled and not endpoint.enabled:
        endpoint.disabled_reason, endpoint.failing_since = "", None
    elif not enabled and endpoint.enabled:
        endpoint.disabled_reason = "Turned off by an admin."
    endpoint.enabled = enabled


def webhook_endpoint_set_enabled(
    *, endpoint: WebhookEndpoint, enabled: bool, actor: User | None,
    request: HttpRequest | None = None,
) -> None:  # fmt: skip
    with transaction.atomic():
        _enabled_set(endpoint, enabled)
        endpoint.save(update_fields=["enabled", "disabled_reason", "failing_since"])
        audit_record(
            tenant=endpoint.tenant, actor=actor, action="webhook.changed",
            summary=f"Turned the webhook {endpoint.url} {'on' if enabled else 'off'}",
            request=request,
        )  # fmt: skip


def webhook_endpoint_rotate(
    *, endpoint: WebhookEndpoint, actor: User | None, now: datetime | None = None,
    request: HttpRequest | None = None,
) -> str:  # fmt: skip
    """A new secret (to be shown once); the current one keeps signing for 24 hours."""
    now = now or timezone.now()
    secret = secret_new()
    with transaction.atomic():
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_until = now + ROTATION_OVERLAP
        endpoint.secret_encrypted = secret_encrypt(secret)
        endpoint.save(
            update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_secret_until"]
        )
        audit_record(
            tenant=endpoint.tenant, actor=actor, action="webhook.secret_rotated",
            summary=f"Rotated the secret of the webhook {endpoint.url}; the old one signs "
            "for 24 more hours", request=request,
        )  # fmt: skip
    return secret


def webhook_endpoint_delete(
    *, endpoint: WebhookEndpoint, actor: User | None, request: HttpRequest | None = None
) -> None:
    with transaction.atomic():
        url = endpoint.url
        endpoint.delete()
        audit_record(
            tenant=endpoint.tenant, actor=actor, action="webhook.removed",
            summary=f"Removed the webhook {url} and its delivery log", request=request,
        )  # fmt: skip
