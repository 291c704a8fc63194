"""Storing what arrives: every door calls this before it acknowledges the sender."""

import hashlib
import logging

from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from accounts.models import Tenant
from accounts.tenancy import tenant_of
from reports.ingest.wake import ingest_wake
from reports.models import Channel, InboundMessage

logger = logging.getLogger(__name__)


def inbound_store(
    *,
    tenant: Tenant,
    channel: Channel | str,
    raw: bytes,
    filename: str = "",
    queue: bool = True,
    **origin: object,
) -> InboundMessage:
    """Store the raw bytes for ``tenant`` and queue processing once the row is committed.

    ``origin``: where an IMAP message came from (mailbox, imap_uidvalidity, imap_uid).
    """
    with transaction.atomic():
        message = InboundMessage.objects.create(
            tenant=tenant,
            channel=channel,
            raw=raw,
            sha256=hashlib.sha256(raw).hexdigest(),
            size=len(raw),
            filename=filename[:255],
            **origin,
        )
        if queue:
            transaction.on_commit(lambda: inbound_queue(message_id=message.pk))
    return message


def inbound_queue(*, message_id: int) -> None:
    """Wake processing (``reports.ingest.wake``); if the broker is down, mark the message.

    The message is already committed, so the sender has been (or will be) told it is
    safe: a broker outage must neither lose it nor turn into an error for the sender.
    """
    try:
        ingest_wake()
    except Exception:  # kombu's errors differ by transport; all mean "not queued"
        logger.warning("Could not queue inbound message %s; the sweep will", message_id)
        tenant_id = tenant_of(InboundMessage, message_id)
        if tenant_id is None:  # deleted since: nothing left to queue
            return
        with scope(tenant=tenant_id):
            InboundMessage.objects.filter(pk=message_id).update(queue_failed_at=timezone.now())
