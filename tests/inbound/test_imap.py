"""The IMAP door against a real Dovecot: polling, moving, UIDVALIDITY, failures, races."""

import os
import subprocess
import sys
import threading

import pytest
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant
from reports.inbound.imap import QUARANTINE_FOLDER, STORED_FLAG, mailbox_poll, mailbox_test
from reports.inbound.secrets import secret_encrypt
from reports.models import InboundMessage, MailboxFailure, MailboxSource, Report, Status, TlsMode
from tests.conftest import ROOT, _end_other_sessions, database_url, wait_until
from tests.factories import make_domain, make_tenant
from tests.inbound.conftest import ImapServer
from tests.reports.mail import report_email, report_json
from tests.tcpproxy import database_proxy

pytestmark = pytest.mark.django_db(transaction=True)


def make_mailbox(
    tenant: Tenant, server: ImapServer, account: tuple[str, str], **fields: object
) -> MailboxSource:
    user, password = account
    with scopes_disabled():
        return MailboxSource.objects.create(
            tenant=tenant, name="Reports", host=server.host, port=server.port,
            tls_mode=TlsMode.NONE, username=user, password_encrypted=secret_encrypt(password),
            **fields,
        )  # fmt: skip


def stored(tenant: Tenant) -> list[InboundMessage]:
    with scope(tenant=tenant):
        return list(InboundMessage.objects.order_by("imap_uid"))


def folder_uids(server: ImapServer, account: tuple[str, str], folder: str) -> list[int]:
    client = server.client(*account)
    try:
        if not client.folder_exists(folder):
            return []
        client.select_folder(folder, readonly=True)
        return client.search("ALL")
    finally:
        client.logout()


def append(server: ImapServer, account: tuple[str, str], *messages: bytes, folder: str = "INBOX"):
    client = server.client(*account)
    try:
        if not client.folder_exists(folder):
            client.create_folder(folder)
        for raw in messages:
            client.append(folder, raw)
    finally:
        client.logout()


def poll(mailbox: MailboxSource):
    with scope(tenant=mailbox.tenant_id):
        return mailbox_poll(mailbox_id=mailbox.pk)


def test_reports_in_the_mailbox_are_stored_processed_and_moved(
    dovecot: ImapServer, celery_worker: object
) -> None:
    acme, other = make_tenant("acme"), make_tenant("other")
    make_domain(acme, "example.org")
    account = dovecot.account()
    mails = [report_email(report_json(domain="example.org")) for _ in range(2)]
    append(dovecot, account, *mails)
    mailbox = make_mailbox(acme, dovecot, account)

    result = poll(mailbox)

    assert (result.stored, result.error) == (2, "")
    subjects = [m.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0] for m in mails]
    assert [subjects[i] in bytes(m.raw) for i, m in enumerate(stored(acme))] == [True, True]
    assert folder_uids(dovecot, account, "INBOX") == []
    assert len(folder_uids(dovecot, account, "TLSRPT/Processed")) == 2
    wait_until(lambda: all(m.status == Status.PROCESSED for m in stored(acme)))
    with scopes_disabled():
        assert set(Report.objects.values_list("tenant_id", flat=True)) == {acme.pk}
    assert stored(other) == []
    assert poll(mailbox).stored == 0
    mailbox.refresh_from_db()
    assert mailbox.last_success_at and not mailbox.last_error


def test_without_a_processed_folder_messages_are_flagged_and_left(dovecot: ImapServer) -> None:
    acme = make_tenant("acme")
    account = dovecot.account()
    append(dovecot, account, b"Subject: one\r\n\r\nx\r\n")
    mailbox = make_mailbox(acme, dovecot, account, processed_folder="")

    assert poll(mailbox).stored == 1
    assert poll(mailbox).stored == 0

    client = dovecot.client(*account)
    client.select_folder("INBOX", readonly=True)
    flags = client.get_flags(client.search("ALL"))
    client.logout()
    assert all(STORED_FLAG.encode() in f and b"\\Seen" in f for f in flags.values())


def test_a_uidvalidity_change_rereads_without_duplicates(dovecot: ImapServer) -> None:
    acme = make_tenant("acme")
    account = dovecot.account()
    mails = [b"Subject: one\r\n\r\nx\r\n", b"Subject: two\r\n\r\ny\r\n"]
    append(dovecot, account, *mails, folder="Reports")
    mailbox = make_mailbox(acme, dovecot, account, folder="Reports", processed_folder="")
    assert poll(mailbox).stored == 2
    mailbox.refresh_from_db()
    before = mailbox.uidvalidity

    client = dovecot.client(*account)
    client.delete_folder("Reports")
    client.logout()
    append(dovecot, account, *mails, b"Subject: three\r\n\r\nz\r\n", folder="Reports")
    result = poll(mailbox)

    mailbox.refresh_from_db()
    assert mailbox.uidvalidity != before
    assert (result.stored, result.skipped) == (1, 2)
    assert len(stored(acme)) == 3


def test_login_failures_are_recorded_and_lose_nothing(dovecot: ImapServer) -> None:
    acme = make_tenant("acme")
    user, _ = account = dovecot.account()
    append(dovecot, account, b"Subject: one\r\n\r\nx\r\n")
    mailbox = make_mailbox(acme, dovecot, (user, "wrong password"))

    result = poll(mailbox)

    mailbox.refresh_from_db()
    assert result.error.startswith("Login failed")
    assert mailbox.last_error.startswith("Login failed") and mailbox.last_error_at
    assert stored(acme) == [] and len(folder_uids(dovecot, account, "INBOX")) == 1
    assert mailbox_test(mailbox).startswith("Login failed")
    mailbox.password_encrypted = secret_encrypt(account[1])
    assert mailbox_test(mailbox) == "Connected: 1 messages in INBOX."


def test_a_poison_message_is_quarantined_and_the_rest_processed(
    dovecot: ImapServer, settings
) -> None:
    settings.TLSRPT_MAX_MESSAGE_BYTES = 2000
    acme = make_tenant("acme")
    account = dovecot.account()
    big = b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 100
    append(dovecot, account, big, b"Subject: fine\r\n\r\nx\r\n")
    mailbox = make_mailbox(acme, dovecot, account)

    results = [poll(mailbox) for _ in range(3)]
    append(dovecot, account, b"Subject: later\r\n\r\nx\r\n")
    results.append(poll(mailbox))

    assert [r.stored for r in results] == [1, 0, 0, 1]
    assert [r.quarantined for r in results] == [0, 0, 1, 0]
    assert len(folder_uids(dovecot, account, QUARANTINE_FOLDER)) == 1
    assert folder_uids(dovecot, account, "INBOX") == []
    with scopes_disabled():
        failure = MailboxFailure.objects.get()
    assert (failure.attempts, failure.error) == (3, "larger than the accepted size")


def test_two_workers_polling_at_once_store_each_message_once(dovecot: ImapServer) -> None:
    acme = make_tenant("acme")
    account = dovecot.account()
    append(dovecot, account, *[f"Subject: {i}\r\n\r\nx\r\n".encode() for i in range(20)])
    mailbox = make_mailbox(acme, dovecot, account)
    start = threading.Barrier(2)
    results = []

    def run() -> None:
        start.wait()
        results.append(poll(mailbox))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    _end_other_sessions()

    assert len(stored(acme)) == 20
    assert len({m.imap_uid for m in stored(acme)}) == 20
    assert len(folder_uids(dovecot, account, "TLSRPT/Processed")) == 20
    assert sorted(r is None for r in results) == [False, True]  # one found it held


@pytest.mark.postgresql_only(
    reason=(
        "a TCP proxy cuts the database server's connection; SQLite is a file with no "
        "connection to cut"
    )
)
def test_database_down_during_a_poll_leaves_the_message_then_stores_it_once(
    dovecot: ImapServer,
) -> None:
    acme = make_tenant("acme")
    account = dovecot.account()
    append(dovecot, account, b"Subject: one\r\n\r\nx\r\n")
    mailbox = make_mailbox(acme, dovecot, account)
    proxy, through_proxy = database_proxy(database_url())
    code = f"from reports.tasks import poll_mailbox; print(poll_mailbox({mailbox.pk}))"
    command = [sys.executable, "manage.py", "shell", "-c", code]
    env = {**os.environ, "DATABASE_URL": through_proxy, "LOG_LEVEL": "ERROR"}
    env |= {"OUTBOUND_ALLOWED_ADDRESSES": dovecot.host, "IMAP_ALLOWED_PORTS": str(dovecot.port)}
    try:
        proxy.cut()
        down = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert down.returncode != 0
        assert stored(acme) == []
        client = dovecot.client(*account)
        client.select_folder("INBOX", readonly=True)
        (flags,) = client.get_flags(client.search("ALL")).values()
        client.logout()
        assert b"\\Seen" not in flags  # unseen and unmoved

        proxy.restore()
        up = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert up.stdout.strip().splitlines()[-1] == "stored 1", up.stderr[-2000:]
        assert len(stored(acme)) == 1
        assert folder_uids(dovecot, account, "INBOX") == []
    finally:
        proxy.close()
        _end_other_sessions()


def test_beat_fans_out_a_poll_per_active_mailbox(
    dovecot: ImapServer, celery_worker: object
) -> None:
    from reports.tasks import poll_mailboxes

    acme = make_tenant("acme")
    active_account, paused_account = dovecot.account(), dovecot.account()
    append(dovecot, active_account, b"Subject: a\r\n\r\nx\r\n")
    append(dovecot, paused_account, b"Subject: p\r\n\r\nx\r\n")
    make_mailbox(acme, dovecot, active_account)
    make_mailbox(acme, dovecot, paused_account, active=False)

    poll_mailboxes.delay()

    wait_until(lambda: len(stored(acme)) == 1)
    assert len(folder_uids(dovecot, paused_account, "INBOX")) == 1
