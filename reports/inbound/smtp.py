"""The SMTP (or LMTP) door: the tenants' ``rua=mailto:`` addresses.

aiosmtpd speaks the protocol; this handler decides. RCPT is accepted only for an
existing tenant's address (550 otherwise). At the end of DATA the message is stored
once per tenant addressed, in one transaction, and only after the commit does the
sender get 250; if the database cannot be reached the answer is 451, so the sender
keeps the message and tries again. The size limit is aiosmtpd's: announced in EHLO
(SIZE) and enforced with 552.

The limits of ``reports.inbound.quotas`` answer with temporary codes, so a real sender
keeps the message and tries again later: too many connections from one client address
(open at once, or a minute) get 421 before the greeting; past the recipients of one
message, 452 at RCPT; a client address past its messages an hour, 451 at RCPT; a tenant
whose day is used up, 452 at RCPT (messages) or at the end of DATA (bytes). Refusals
for a tenant are recorded for it to see (``reports.inbound.refusals``). Behind a mail
server (LMTP) every connection comes from that server: the limits per client address
are its job there, and only the recipient limit and the tenants' quotas apply.
"""

import logging
import ssl
from collections import Counter
from typing import Any, ClassVar

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction

from accounts.models import Tenant
from reports.inbound.addresses import tenant_id_for_address
from reports.inbound.models import Limit
from reports.inbound.quotas import (
    Reservation,
    client_key,
    connection_allowed,
    message_allowed,
    quota_full,
    quota_release,
    quota_reserve,
)
from reports.inbound.refusals import refusal_record
from reports.inbound.store import inbound_store
from reports.models import Channel

logger = logging.getLogger(__name__)

TEMPORARY = "451 4.3.0 Temporary local problem, please try again later"
TOO_MANY_OPEN = "421 4.7.0 Too many connections from your address, try again later"
TOO_FAST = "421 4.7.0 Too many connections from your address this minute, try again later"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
SENDER_RATE = "451 4.7.1 Too many messages from your address this hour, try again later"
QUOTA = "452 4.2.2 The recipient's daily quota is used up, try again tomorrow"


def _peer(session: Session) -> str:
    peer = session.peer
    return str(peer[0]) if isinstance(peer, tuple) else str(peer or "")


def _lookup(address: str) -> int | None:
    close_old_connections()
    return tenant_id_for_address(address)


def _rcpt_refusal(
    session: Session, envelope: Envelope, tenant_id: int, per_address: bool
) -> str | None:
    """Why this recipient is refused for now, recorded for its tenant; None to accept it."""
    peer = _peer(session)
    refusal: tuple[Limit, str] | None = None
    most = settings.INBOUND_SMTP_MAX_RECIPIENTS
    if most and len(envelope.rcpt_tos) >= most:
        refusal = Limit.RECIPIENTS, TOO_MANY_RECIPIENTS
    elif per_address and not _sender_ok(envelope, peer):
        refusal = Limit.SENDER_RATE, SENDER_RATE
    elif quota_full(tenant_id=tenant_id):
        refusal = Limit.DAILY_MESSAGES, QUOTA
    if refusal is None:
        return None
    # A real sender gives up on the recipient at the first 4xx; a client repeating RCPT
    # in one connection is recorded once, so it cannot turn into a write per command.
    recorded = session.__dict__.setdefault("refusals_recorded", set())
    if (tenant_id, refusal[0]) not in recorded:
        _refused(tenant_id, refusal[0], peer, refusal[1])
        recorded.add((tenant_id, refusal[0]))
    return refusal[1]


def _sender_ok(envelope: Envelope, peer: str) -> bool:
    """Whether the client address may send this message: counted once, at the
    transaction's first tenant recipient."""
    state = envelope.__dict__
    if "sender_ok" not in state:
        state["sender_ok"] = message_allowed(peer)
    return bool(state["sender_ok"])


def _refused(tenant_id: int, limit: Limit, peer: str, reply: str, size: int = 0) -> str:
    refusal_record(tenant_id=tenant_id, channel=Channel.SMTP, limit=limit, size=size, sender=peer)
    return reply


def _deliver(tenant_ids: list[int], raw: bytes, peer: str) -> str:
    """Reserve each tenant's share of its day, then store: for all or for none, as one
    reply answers for every recipient. What is not stored is given back."""
    close_old_connections()
    outcomes = [(t, quota_reserve(tenant_id=t, size=len(raw))) for t in tenant_ids]
    reservations = [o for _, o in outcomes if isinstance(o, Reservation)]
    stored = False
    try:
        refused = [(t, o) for t, o in outcomes if not isinstance(o, Reservation)]
        for tenant_id, limit in refused:
            _refused(tenant_id, limit, peer, QUOTA, size=len(raw))
        if refused:
            return QUOTA
        ids = _store(tenant_ids, raw)
        stored = True
    finally:
        if not stored:
            for reservation in reservations:
                quota_release(reservation)
    logger.info("Stored SMTP message as %s", ids)
    return "250 2.0.0 Stored"


def _store(tenant_ids: list[int], raw: bytes) -> list[int]:
    """Store ``raw`` for each tenant in one transaction; their ids once committed."""
    with transaction.atomic():
        return [
            inbound_store(tenant=Tenant(pk=t), channel=Channel.SMTP, raw=raw).pk for t in tenant_ids
        ]


class InboundHandler:
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        per_address = not isinstance(server, LMTP)
        try:
            tenant_id = await sync_to_async(_lookup, thread_sensitive=False)(address)
            if tenant_id is None:
                return "550 5.1.1 No such recipient here"
            refusal = await sync_to_async(_rcpt_refusal, thread_sensitive=False)(
                session, envelope, tenant_id, per_address
            )
        except DatabaseError:
            logger.exception("Database unavailable at RCPT")
            return TEMPORARY
        if refusal:
            return refusal
        tenants = envelope.__dict__.setdefault("tenant_ids", [])
        if tenant_id not in tenants:
            tenants.append(tenant_id)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        tenant_ids = envelope.__dict__.get("tenant_ids", [])
        try:
            return await sync_to_async(_deliver, thread_sensitive=False)(
                tenant_ids, raw, _peer(session)
            )
        except DatabaseError:
            logger.exception("Database unavailable at DATA; the sender will retry")
            return TEMPORARY


class LimitedSMTP(SMTP):
    """aiosmtpd's SMTP with the limits per client address that apply before the greeting:
    connections open at once (counted in this process) and new connections a minute
    (counted across processes)."""

    open_connections: ClassVar[Counter[str]] = Counter()
    _limit_key: str | None = None

    async def _handle_client(self) -> None:
        # aiosmtpd has no hook before its greeting: this runs first, then hands over.
        assert self.session is not None  # set by connection_made, which starts this
        address = _peer(self.session)
        key = client_key(address)
        limit = settings.INBOUND_SMTP_CONCURRENT_CONNECTIONS
        if limit and self.open_connections[key] >= limit:
            return await self._refuse(TOO_MANY_OPEN, address)
        self.open_connections[key] += 1
        self._limit_key = key
        if not await sync_to_async(connection_allowed, thread_sensitive=False)(address):
            return await self._refuse(TOO_FAST, address)
        await super()._handle_client()

    async def _refuse(self, reply: str, address: str) -> None:
        logger.warning("SMTP connection from %s refused: %s", address, reply)
        await self.push(reply)
        assert self.transport is not None
        self.transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        key, self._limit_key = self._limit_key, None
        if key is not None:
            self.open_connections[key] -= 1
            if self.open_connections[key] <= 0:
                del self.open_connections[key]
        super().connection_lost(error)


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
    return LimitedSMTP(InboundHandler(), tls_context=context, **options)
