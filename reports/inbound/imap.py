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
"""

import contextlib
import hashlib
import logging
import ssl
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from reports.inbound.secrets import secret_decrypt
from reports.inbound.store import inbound_store
from reports.models import Channel, InboundMessage, MailboxFailure, MailboxSource, TlsMode

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


def mailbox_connect(mailbox: MailboxSource) -> IMAPClient:
    """Connected and logged in; raises IMAPClientError, LoginError or OSError."""
    context = ssl.create_default_context()
    client = IMAPClient(
        mailbox.host,
        port=mailbox.port,
        ssl=mailbox.tls_mode == TlsMode.SSL,
        ssl_context=context,
        timeout=settings.MAILBOX_TIMEOUT,
    )
    if mailbox.tls_mode == TlsMode.STARTTLS:
        client.starttls(context)
    client.login(mailbox.username, secret_decrypt(mailbox.password_encrypted))
    return client


def mailbox_test(mailbox: MailboxSource) -> str:
    """Try to log in and open the folder; a sentence saying how it went."""
    try:
        client = mailbox_connect(mailbox)
        try:
            info = client.select_folder(mailbox.folder, readonly=True)
        finally:
            client.logout()
    except LoginError:
        return "Login failed: check the username and password."
    except (IMAPClientError, OSError) as e:
        return f"Could not connect: {_describe(e)}"
    return f"Connected: {info.get(b'EXISTS', 0)} messages in {mailbox.folder}."


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
            _poll(client, mailbox, result)
        finally:
            _logout(client)
    except LoginError:
        result.error = "Login failed: check the username and password."
    except (IMAPClientError, OSError) as e:
        result.error = f"Could not read the mailbox: {_describe(e)}"
    finally:
        _finish(mailbox, result)
    return result


def _poll(client: IMAPClient, mailbox: MailboxSource, result: PollResult) -> None:
    info = client.select_folder(mailbox.folder)
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


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__
