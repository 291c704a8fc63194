"""IMAP mailboxes go through the outbound address policy and never echo what answered.

Anyone can sign up and add a mailbox, so a mailbox must not work as a port scanner: internal
addresses and other ports are never contacted, and every failure is one fixed sentence with
a stable code, never the banner or text of whatever answered.
"""

import socket
import ssl
import threading
from collections.abc import Iterator

import pytest
import trustme
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant
from reports.inbound.imap import mailbox_poll, mailbox_test
from reports.inbound.secrets import secret_encrypt
from reports.models import MailboxSource, TlsMode
from tests.dnsserver import ZoneResolver
from tests.inbound.conftest import ImapServer

pytestmark = pytest.mark.django_db(transaction=True)

BANNER = b"220 localhost Python SMTP proxy version 0.3\r\n"


class TcpServer:
    """A real TCP server on loopback, one connection at a time: it greets with ``greeting``
    (over TLS when given a context) and records what it is sent and how often it accepted.
    With ``imap`` it answers CAPABILITY, refuses every LOGIN and says goodbye on LOGOUT."""

    def __init__(
        self, greeting: bytes, tls: ssl.SSLContext | None = None, imap: bool = False
    ) -> None:
        self.greeting, self.tls, self.imap = greeting, tls, imap
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.received = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            try:
                self._talk(conn)
            except OSError:
                pass
            finally:
                conn.close()

    def _talk(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        if self.tls is not None:
            conn = self.tls.wrap_socket(conn, server_side=True)
        conn.sendall(self.greeting)
        for line in conn.makefile("rb"):
            self.received += line
            tag, _, command = line.partition(b" ")
            if self.imap:
                conn.sendall(_imap_reply(tag, command.split(b" ")[0].strip().upper()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()


def _imap_reply(tag: bytes, command: bytes) -> bytes:
    if command == b"CAPABILITY":
        return b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n"
    if command == b"LOGOUT":
        return b"* BYE\r\n" + tag + b" OK bye\r\n"
    return tag + b" NO [AUTHENTICATIONFAILED] no\r\n"


@pytest.fixture
def banner_server(settings) -> Iterator[TcpServer]:
    """Something that is not IMAP, on a loopback port the policy lets through."""
    server = TcpServer(BANNER)
    settings.OUTBOUND_ALLOWED_ADDRESSES = ["127.0.0.1"]
    settings.IMAP_ALLOWED_PORTS = [993, 143, server.port]
    yield server
    server.close()


@pytest.fixture
def listener(settings) -> Iterator[socket.socket]:
    """A listening socket on loopback that accepts nothing itself: connections queue up.

    Its port is allowed, loopback is not."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        settings.OUTBOUND_ALLOWED_ADDRESSES = []
        settings.IMAP_ALLOWED_PORTS = [993, 143, server.getsockname()[1]]
        yield server


def assert_never_connected(server: socket.socket) -> None:
    """A completed connection waits in the backlog even once closed: none may be there."""
    with pytest.raises(BlockingIOError):
        server.accept()


def make_mailbox(
    tenant: Tenant, host: str, port: int, tls_mode: str = TlsMode.NONE
) -> MailboxSource:
    with scopes_disabled():
        return MailboxSource.objects.create(
            tenant=tenant, name="Box", host=host, port=port, tls_mode=tls_mode,
            username="reports", password_encrypted=secret_encrypt("the password"),
        )  # fmt: skip


def poll_error(mailbox: MailboxSource) -> str:
    with scope(tenant=mailbox.tenant_id):
        mailbox_poll(mailbox_id=mailbox.pk)
    mailbox.refresh_from_db()
    return mailbox.last_error


def test_a_foreign_service_is_not_imap_and_its_banner_is_never_shown(
    acme: Tenant, owner: Client, banner_server: TcpServer
) -> None:
    values = {
        "name": "Box", "host": "127.0.0.1", "port": banner_server.port, "tls_mode": "none",
        "username": "reports", "password": "the password", "folder": "INBOX",
        "processed_folder": "",
    }  # fmt: skip
    page = owner.post(reverse("mailbox_new", args=["acme"]), values, follow=True)

    text = page.content.decode()
    assert f"127.0.0.1 did not answer on port {banner_server.port} like an IMAP server." in text
    assert "(imap_not_imap)" in text
    assert "Python SMTP" not in text and "220 " not in text
    with scope(tenant=acme):
        mailbox = MailboxSource.objects.get()
    assert "imap_not_imap" in poll_error(mailbox)
    assert "Python SMTP" not in mailbox.last_error
    listing = owner.get(reverse("mailbox_list", args=["acme"])).content.decode()
    assert "imap_not_imap" in listing and "Python SMTP" not in listing
    assert b"the password" not in banner_server.received  # no login to what is not IMAP


def test_a_closed_port_gets_a_fixed_sentence(acme: Tenant, settings) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    settings.OUTBOUND_ALLOWED_ADDRESSES = ["127.0.0.1"]
    settings.IMAP_ALLOWED_PORTS = [port]
    mailbox = make_mailbox(acme, "127.0.0.1", port)

    expected = f"Could not connect to 127.0.0.1 on port {port}. (imap_connect_failed)"
    assert mailbox_test(mailbox) == expected
    assert poll_error(mailbox) == expected


def test_a_mailbox_at_loopback_is_never_contacted(acme: Tenant, listener: socket.socket) -> None:
    mailbox = make_mailbox(acme, "127.0.0.1", listener.getsockname()[1])

    outcome = mailbox_test(mailbox)

    assert outcome == (
        "127.0.0.1 resolves to a private or internal address; only public addresses are "
        "contacted. (imap_unsafe_address)"
    )
    assert poll_error(mailbox) == outcome
    assert_never_connected(listener)


def test_a_name_that_resolves_inside_is_never_contacted(
    acme: Tenant, listener: socket.socket, dns: ZoneResolver
) -> None:
    dns.add_a("imap.inside.test", "127.0.0.1")
    mailbox = make_mailbox(acme, "imap.inside.test", listener.getsockname()[1])

    assert mailbox_test(mailbox).endswith("(imap_unsafe_address)")
    assert poll_error(mailbox).endswith("(imap_unsafe_address)")
    assert_never_connected(listener)


def test_a_name_without_address_gets_a_dns_sentence(acme: Tenant, dns: ZoneResolver) -> None:
    mailbox = make_mailbox(acme, "nowhere.test", 993)
    assert mailbox_test(mailbox) == (
        "nowhere.test has no address in DNS, or its name servers did not answer. (imap_dns)"
    )


def test_a_port_outside_the_list_is_never_contacted(
    acme: Tenant, listener: socket.socket, settings
) -> None:
    port = listener.getsockname()[1]
    settings.OUTBOUND_ALLOWED_ADDRESSES = ["127.0.0.1"]
    settings.IMAP_ALLOWED_PORTS = [993, 143]
    mailbox = make_mailbox(acme, "127.0.0.1", port)

    outcome = mailbox_test(mailbox)

    assert (
        outcome
        == f"Port {port} is not allowed for mailboxes; use 993 or 143. (imap_port_not_allowed)"
    )
    assert poll_error(mailbox) == outcome
    assert_never_connected(listener)


def test_tls_to_a_server_without_tls_fails_as_tls(acme: Tenant, dovecot: ImapServer) -> None:
    mailbox = make_mailbox(acme, dovecot.host, dovecot.port, tls_mode=TlsMode.SSL)
    assert mailbox_test(mailbox).endswith("(imap_tls_failed)")
    mailbox.tls_mode = TlsMode.STARTTLS  # this Dovecot offers no STARTTLS
    assert mailbox_test(mailbox).endswith("(imap_tls_failed)")


def test_a_certificate_from_an_unknown_ca_fails_before_the_login(acme: Tenant, settings) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = TcpServer(b"* OK IMAP4rev1 ready\r\n", tls=context)
    settings.OUTBOUND_ALLOWED_ADDRESSES = ["127.0.0.1"]
    settings.IMAP_ALLOWED_PORTS = [server.port]
    try:
        mailbox = make_mailbox(acme, "127.0.0.1", server.port, tls_mode=TlsMode.SSL)
        assert mailbox_test(mailbox) == (
            "Could not set up TLS with 127.0.0.1: check the security setting and that the "
            "server's certificate is valid for 127.0.0.1. (imap_tls_failed)"
        )
    finally:
        server.close()
    assert server.accepted == 1 and server.received == b""


def test_a_stored_password_is_never_sent_to_a_new_server(
    acme: Tenant, owner: Client, dovecot: ImapServer, settings
) -> None:
    user, password = dovecot.account()
    values = {
        "name": "Box", "host": dovecot.host, "port": dovecot.port, "tls_mode": "none",
        "username": user, "password": password, "folder": "INBOX", "processed_folder": "",
    }  # fmt: skip
    owner.post(reverse("mailbox_new", args=["acme"]), values)
    with scope(tenant=acme):
        mailbox = MailboxSource.objects.get()
    elsewhere = TcpServer(b"* OK IMAP4rev1 ready\r\n", imap=True)
    settings.IMAP_ALLOWED_PORTS = [*settings.IMAP_ALLOWED_PORTS, elsewhere.port]
    edit = reverse("mailbox_edit", args=["acme", mailbox.pk])
    try:
        moved = owner.post(edit, {**values, "port": elsewhere.port, "password": ""})
        assert moved.status_code == 200
        assert "Enter the password again" in moved.content.decode()
        mailbox.refresh_from_db()
        assert mailbox.port == dovecot.port and elsewhere.accepted == 0

        retyped = owner.post(edit, {**values, "port": elsewhere.port, "password": "new one"})
        assert retyped.status_code == 302
    finally:
        elsewhere.close()
    assert b"LOGIN" in elsewhere.received and b"new one" in elsewhere.received
    assert password.encode() not in elsewhere.received
