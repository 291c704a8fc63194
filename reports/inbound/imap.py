"""The IMAP door: a tenant's own mailbox, polled by the workers.

A poll claims the mailbox for a while (``polling_until``), so two workers never poll it
at the same time; the unique key (mailbox, uidvalidity, uid) makes a message stored
once even if they did. Each new message is fetched with ``BODY.PEEK[]`` (it stays
unseen), stored and committed, and only then moved to the processed folder (or flagged
when there is none, or the server cannot MOVE). Nothing is moved that was not
committed: if the database goes away mid-poll, the message stays where it was and the
next poll takes it. When UIDVALIDITY changes, the folder is read again from the start,
and messages already stored from this mailbox (same sha256) are not stored twice. A
message that cannot be taken (too large, or the server will not give it) is counted,
and after ``QUARANTINE_AFTER`` tries moved to a quarantine folder so that the rest of
the mailbox still gets processed.

Anyone can sign up and add a mailbox, so its host and port are not trusted: the connection
goes through ``tlsrpt_saas.outbound`` (public addresses only, on the ports of
``IMAP_ALLOWED_PORTS``), and every failure is a ``MailboxError`` with a stable code and a
fixed sentence (``MESSAGES``): what the server said is never stored or shown.
"""

import contextlib
import hashlib
import imaplib
import logging
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from reports.inbound.secrets import secret_decrypt
from reports.inbound.store import inbound_store
from reports.models import Channel, InboundMessage, MailboxFailure, MailboxSource, TlsMode
from tlsrpt_saas.outbound import OutboundError, connect

logger = logging.getLogger(__name__)

QUARANTINE_AFTER = 3
QUARANTINE_FOLDER = "TLSRPT/Quarantine"
STORED_FLAG = "$TLSRPT-Stored"
_BATCH = 50


@dataclass
class PollResult:
    stored: int = 0
    skipped: int = 0
    quarantined: int = 0
    error: str = ""


# What a tenant is told when a mailbox fails: fixed sentences, formatted with the mailbox's
# own fields. Nothing the server sent (a greeting, a banner, an error text) is ever shown
# or stored, so a mailbox cannot be used to read what answers on some host and port.
MESSAGES = {
    "imap_port_not_allowed": "Port {port} is not allowed for mailboxes; use {ports}.",
    "imap_unsafe_address": (
        "{host} resolves to a private or internal address; only public addresses are contacted."
    ),
    "imap_dns": "{host} has no address in DNS, or its name servers did not answer.",
    "imap_connect_failed": "Could not connect to {host} on port {port}.",
    "imap_timeout": "{host} did not answer on port {port} in time.",
    "imap_tls_failed": (
        "Could not set up TLS with {host}: check the security setting and that the server's "
        "certificate is valid for {host}."
    ),
    "imap_not_imap": "{host} did not answer on port {port} like an IMAP server.",
    "imap_login_failed": "Login failed: check the username and password.",
    "imap_folder_missing": "The folder {folder} does not exist or cannot be opened.",
    "imap_read_failed": "The server refused a command while the mailbox was being read.",
}
_OUTBOUND_CODES = {
    "unsafe_address": "imap_unsafe_address",
    "dns_missing": "imap_dns",
    "dns_unknown": "imap_dns",
    "connect_failed": "imap_connect_failed",
    "timeout": "imap_timeout",
}


class MailboxError(Exception):
    """A mailbox session that failed, with a stable ``code`` and a fixed sentence."""

    def __init__(self, code: str, mailbox: MailboxSource) -> None:
        ports = " or ".join(str(port) for port in settings.IMAP_ALLOWED_PORTS)
        fields = {"host": mailbox.host, "port": mailbox.port, "folder": mailbox.folder}
        self.code, self.message = code, MESSAGES[code].format(ports=ports, **fields)
        super().__init__(f"{self.message} ({code})")


def mailbox_port_allowed(port: int) -> bool:
    return port in settings.IMAP_ALLOWED_PORTS


def mailbox_connect(mailbox: MailboxSource) -> IMAPClient:
    """Connected through the outbound address policy and logged in; raises MailboxError."""
    sock = _dial(mailbox)
    try:
        with _failing_as("imap_not_imap", mailbox):
            client = _PinnedClient(mailbox.host, mailbox.port, sock, settings.MAILBOX_TIMEOUT)
    except MailboxError:
        sock.close()
        raise
    try:
        if mailbox.tls_mode == TlsMode.STARTTLS:
            with _failing_as("imap_tls_failed", mailbox, tls=True):
                client.starttls(_tls_context())
        with _failing_as("imap_login_failed", mailbox):
            client.login(mailbox.username, secret_decrypt(mailbox.password_encrypted))
    except MailboxError:
        _shutdown(client)
        raise
    return client


def mailbox_test(mailbox: MailboxSource) -> str:
    """Try to log in and open the folder; a sentence saying how it went."""
    try:
        client = mailbox_connect(mailbox)
        try:
            with _failing_as("imap_folder_missing", mailbox):
                info = client.select_folder(mailbox.folder, readonly=True)
        finally:
            _logout(client)
    except MailboxError as e:
        return str(e)
    return f"Connected: {info.get(b'EXISTS', 0)} messages in {mailbox.folder}."


def _dial(mailbox: MailboxSource) -> socket.socket:
    """A socket to a vetted address of the mailbox's host, wrapped in TLS when it says so."""
    if not mailbox_port_allowed(mailbox.port):
        raise MailboxError("imap_port_not_allowed", mailbox)
    deadline = time.monotonic() + settings.MAILBOX_TIMEOUT
    try:
        sock, _ = connect(mailbox.host, mailbox.port, deadline=deadline)
    except OutboundError as e:
        logger.info("Mailbox %s not contacted: %s", mailbox.pk, e.message)
        raise MailboxError(_OUTBOUND_CODES[e.code], mailbox) from None
    sock.settimeout(settings.MAILBOX_TIMEOUT)
    if mailbox.tls_mode != TlsMode.SSL:
        return sock
    try:
        with _failing_as("imap_tls_failed", mailbox, tls=True):
            return _tls_context().wrap_socket(sock, server_hostname=mailbox.host)
    except MailboxError:
        sock.close()
        raise


def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()  # verifies the chain and the host name


@contextlib.contextmanager
def _failing_as(code: str, mailbox: MailboxSource, *, tls: bool = False) -> Iterator[None]:
    """Whatever goes wrong in one step of a session becomes a MailboxError: ``code`` when the
    server answered wrongly; a timeout, a TLS or a connection failure by its own code."""
    try:
        yield
    except TimeoutError:
        raise MailboxError("imap_timeout", mailbox) from None
    except ssl.SSLError:
        raise MailboxError("imap_tls_failed" if tls else "imap_connect_failed", mailbox) from None
    except IMAPClientError:
        raise MailboxError(code, mailbox) from None
    except OSError:
        raise MailboxError("imap_connect_failed", mailbox) from None


class _PinnedIMAP4(imaplib.IMAP4):
    """imaplib over a socket already connected to a vetted address: it never resolves or dials."""

    def __init__(self, host: str, port: int, sock: socket.socket) -> None:
        self._pinned = sock
        super().__init__(host, port)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        return self._pinned


class _PinnedClient(IMAPClient):
    """IMAPClient on a pinned socket; ``host`` stays the name, for STARTTLS's SNI and check."""

    def __init__(self, host: str, port: int, sock: socket.socket, timeout: float) -> None:
        self._pinned = sock
        super().__init__(host, port=port, ssl=False, timeout=timeout)

    def _create_IMAP4(self) -> imaplib.IMAP4:
        return _PinnedIMAP4(self.host, self.port, self._pinned)


def _claim(mailbox_id: int) -> bool:
    """Hold the mailbox for as long as a task may run (its hard time limit)."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    free = MailboxSource.objects.filter(pk=mailbox_id, active=True).filter(
        Q(polling_until__isnull=True) | Q(polling_until__lt=now)
    )
    return bool(free.update(polling_until=lease, last_poll_at=now))


def mailbox_poll(*, mailbox_id: int) -> PollResult | None:
    """Take every new message of the mailbox; None when another poll holds it."""
    if not _claim(mailbox_id):
        return None
    mailbox = MailboxSource.objects.get(pk=mailbox_id)
    result = PollResult()
    try:
        client = mailbox_connect(mailbox)
        try:
            with _failing_as("imap_folder_missing", mailbox):
                info = client.select_folder(mailbox.folder)
            with _failing_as("imap_read_failed", mailbox):
                _poll(client, mailbox, info, result)
        finally:
            _logout(client)
    except MailboxError as e:
        result.error = str(e)
    finally:
        _finish(mailbox, result)
    return result


def _poll(client: IMAPClient, mailbox: MailboxSource, info: dict, result: PollResult) -> None:
    uidvalidity = int(info[b"UIDVALIDITY"])
    if uidvalidity != mailbox.uidvalidity:
        # A new folder generation: UIDs start over, so read it all again.
        mailbox.uidvalidity, mailbox.last_uid = uidvalidity, 0
        MailboxSource.objects.filter(pk=mailbox.pk).update(uidvalidity=uidvalidity, last_uid=0)
    new = [u for u in client.search(["UID", f"{mailbox.last_uid + 1}:*"]) if u > mailbox.last_uid]
    retry = MailboxFailure.objects.filter(
        mailbox=mailbox, uidvalidity=uidvalidity, quarantined_at__isnull=True
    ).values_list("uid", flat=True)
    uids = sorted(set(new) | set(retry))
    can_move = b"MOVE" in client.capabilities()
    for start in range(0, len(uids), _BATCH):
        _poll_batch(client, mailbox, uids[start : start + _BATCH], can_move, result)


def _poll_batch(
    client: IMAPClient, mailbox: MailboxSource, uids: list[int], can_move: bool, result: PollResult
) -> None:
    limit = settings.TLSRPT_MAX_MESSAGE_BYTES
    sizes = client.fetch(uids, ["RFC822.SIZE"])
    small = [u for u in uids if u in sizes and sizes[u].get(b"RFC822.SIZE", 0) <= limit]
    bodies = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
    for uid in uids:
        raw = bodies.get(uid, {}).get(b"BODY[]")
        if raw is None:
            if uid not in sizes:
                continue  # gone from the folder since
            problem = "larger than the accepted size" if uid not in small else "no content"
            _failure(client, mailbox, uid, problem, result)
            continue
        stored = _store(mailbox, uid, raw)
        result.stored += stored
        result.skipped += not stored
        _done(client, mailbox, uid, can_move)


def _store(mailbox: MailboxSource, uid: int, raw: bytes) -> bool:
    """Store and commit one message; False when this mailbox had already given it."""
    sha256 = hashlib.sha256(raw).hexdigest()
    with transaction.atomic():
        MailboxSource.objects.filter(pk=mailbox.pk, last_uid__lt=uid).update(last_uid=uid)
        mailbox.last_uid = max(mailbox.last_uid, uid)
        if InboundMessage.objects.filter(mailbox=mailbox, sha256=sha256).exists():
            return False  # the same message under an earlier UIDVALIDITY
        try:
            with transaction.atomic():
                inbound_store(
                    tenant=mailbox.tenant, channel=Channel.IMAP, raw=raw, mailbox=mailbox,
                    imap_uidvalidity=mailbox.uidvalidity, imap_uid=uid,
                )  # fmt: skip
        except IntegrityError:
            return False  # another poll stored it first
    return True


def _done(client: IMAPClient, mailbox: MailboxSource, uid: int, can_move: bool) -> None:
    """After the commit: out of the way, moved to the processed folder or flagged."""
    if mailbox.processed_folder and can_move:
        _ensure_folder(client, mailbox.processed_folder)
        client.move([uid], mailbox.processed_folder)
    else:
        client.add_flags([uid], [STORED_FLAG, b"\\Seen"])


def _failure(
    client: IMAPClient, mailbox: MailboxSource, uid: int, problem: str, result: PollResult
) -> None:
    failure, _ = MailboxFailure.objects.get_or_create(
        mailbox=mailbox, uidvalidity=mailbox.uidvalidity, uid=uid, defaults={"error": problem}
    )
    failure.attempts += 1
    failure.error, failure.updated_at = problem[:500], timezone.now()
    if failure.attempts >= QUARANTINE_AFTER:
        if b"MOVE" in client.capabilities():
            _ensure_folder(client, QUARANTINE_FOLDER)
            client.move([uid], QUARANTINE_FOLDER)
        else:
            client.add_flags([uid], [b"\\Flagged"])
        failure.quarantined_at = timezone.now()
        result.quarantined += 1
        MailboxSource.objects.filter(pk=mailbox.pk, last_uid__lt=uid).update(last_uid=uid)
    failure.save()
    logger.warning("Mailbox %s message %s: %s (try %s)", mailbox.pk, uid, problem, failure.attempts)


def _ensure_folder(client: IMAPClient, folder: str) -> None:
    if not client.folder_exists(folder):
        client.create_folder(folder)


def _finish(mailbox: MailboxSource, result: PollResult) -> None:
    now = timezone.now()
    fields: dict[str, object] = {"polling_until": None}
    if result.error:
        fields |= {"last_error": result.error[:500], "last_error_at": now}
    else:
        fields |= {"last_success_at": now, "last_error": ""}
    MailboxSource.objects.filter(pk=mailbox.pk).update(**fields)


def _logout(client: IMAPClient) -> None:
    with contextlib.suppress(IMAPClientError, OSError):
        client.logout()


def _shutdown(client: IMAPClient) -> None:
    with contextlib.suppress(IMAPClientError, OSError):
        client.shutdown()
