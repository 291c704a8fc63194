"""The SMTP (or LMTP) door: the tenants' ``rua=mailto:`` addresses.

aiosmtpd speaks the protocol; this handler decides. RCPT is accepted only for an
existing tenant's address (550 otherwise). At the end of DATA the message is stored
once per tenant addressed, in one transaction, and only after the commit does the
sender get 250; if the database cannot be reached the answer is 451, so the sender
keeps the message and tries again. The size limit is aiosmtpd's: announced in EHLO
(SIZE) and enforced with 552.
"""

import logging
import ssl
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction

from accounts.models import Tenant
from reports.inbound.addresses import tenant_id_for_address
from reports.inbound.store import inbound_store
from reports.models import Channel

logger = logging.getLogger(__name__)

TEMPORARY = "451 4.3.0 Temporary local problem, please try again later"


def _lookup(address: str) -> int | None:
    close_old_connections()
    return tenant_id_for_address(address)


def _store(tenant_ids: list[int], raw: bytes) -> list[int]:
    """Store ``raw`` for each tenant in one transaction; their ids once committed."""
    close_old_connections()
    with transaction.atomic():
        return [
            inbound_store(tenant=Tenant(pk=t), channel=Channel.SMTP, raw=raw).pk for t in tenant_ids
        ]


class InboundHandler:
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        try:
            tenant_id = await sync_to_async(_lookup, thread_sensitive=False)(address)
        except DatabaseError:
            logger.exception("Database unavailable at RCPT")
            return TEMPORARY
        if tenant_id is None:
            return "550 5.1.1 No such recipient here"
        tenants = envelope.__dict__.setdefault("tenant_ids", [])
        if tenant_id not in tenants:
            tenants.append(tenant_id)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        tenant_ids = envelope.__dict__.get("tenant_ids", [])
        try:
            ids = await sync_to_async(_store, thread_sensitive=False)(tenant_ids, raw)
        except DatabaseError:
            logger.exception("Database unavailable at DATA; the sender will retry")
            return TEMPORARY
        logger.info("Stored SMTP message as %s", ids)
        return "250 2.0.0 Stored"


def tls_context() -> ssl.SSLContext | None:
    cert, key = settings.INBOUND_SMTP_TLS_CERT, settings.INBOUND_SMTP_TLS_KEY
    if not cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key or None)
    return context


def protocol_factory() -> Any:
    """A protocol instance per connection, SMTP or LMTP as configured."""
    options: dict[str, Any] = {
        "data_size_limit": settings.TLSRPT_MAX_MESSAGE_BYTES,
        "hostname": settings.INBOUND_DOMAIN,
        "ident": "TLS-RPT inbound",
        # Bytes as sent: the DKIM check needs them unchanged.
        "decode_data": False,
    }
    if settings.INBOUND_SMTP_LMTP:
        return LMTP(InboundHandler(), **options)
    context = tls_context()
    return SMTP(InboundHandler(), tls_context=context, **options)
