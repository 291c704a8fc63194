"""Storing what arrives: every door calls this before it acknowledges the sender."""

import hashlib

from django.db import transaction

from accounts.models import Tenant
from reports.models import Channel, InboundMessage


def inbound_store(
    *, tenant: Tenant, channel: Channel | str, raw: bytes, filename: str = "", queue: bool = True
) -> InboundMessage:
    """Store the raw bytes for ``tenant`` and queue processing once the row is committed."""
    with transaction.atomic():
        message = InboundMessage.objects.create(
            tenant=tenant,
            channel=channel,
            raw=raw,
            sha256=hashlib.sha256(raw).hexdigest(),
            size=len(raw),
            filename=filename[:255],
        )
        if queue:
            transaction.on_commit(lambda: inbound_queue(message_id=message.pk))
    return message


def inbound_queue(*, message_id: int) -> None:
    from reports.tasks import process_inbound

    process_inbound.delay(message_id)
