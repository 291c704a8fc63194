"""Endpoint secrets and signatures, per the Standard Webhooks specification.

A secret is ``whsec_`` and 32 random bytes in base64, shown once when the endpoint is
created or its secret rotated, then stored encrypted (``reports.inbound.secrets``). Each
request carries ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``; during the
24 hours after a rotation the signature header holds one signature per secret, separated
by a space, so a receiver verifies with either the old or the new secret.
"""

import base64
import secrets
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook

from reports.inbound.secrets import secret_decrypt
from reports.webhooks.models import WebhookEndpoint

ROTATION_OVERLAP = timedelta(hours=24)


def secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def message_id_new() -> str:
    return "msg_" + secrets.token_hex(16)


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The endpoint's secret, and the previous one while its 24 hours last."""
    found = [secret_decrypt(endpoint.secret_encrypted)]
    until = endpoint.previous_secret_until
    if endpoint.previous_secret_encrypted and until is not None and now < until:
        found.append(secret_decrypt(endpoint.previous_secret_encrypted))
    return found


def signed_headers(
    secrets_: list[str], message_id: str, body: bytes, sent_at: datetime | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``, signed with each secret."""
    sent_at = sent_at or datetime.now(UTC)
    signatures = " ".join(Webhook(s).sign(message_id, sent_at, body) for s in secrets_)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signatures,
    }
