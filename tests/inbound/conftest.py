"""Servers of the inbound doors, started for real on loopback."""

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reports.inbound.smtp import LimitedSMTP, protocol_factory
from tests.conftest import _end_other_sessions
from tests.servers_web import gunicorn


@pytest.fixture
def smtp_server(transactional_db: None) -> Iterator[tuple[str, int]]:
    """The SMTP door in a thread of this process, on a free port; settings apply live."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        holder["server"] = loop.run_until_complete(
            loop.create_server(protocol_factory, host="127.0.0.1", port=0)
        )
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    port = holder["server"].sockets[0].getsockname()[1]
    yield "127.0.0.1", port
    loop.call_soon_threadsafe(holder["server"].close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    # A connection still open when the loop stopped is never seen closing: its count of
    # open connections per client address would hold the next test's door back.
    LimitedSMTP.open_connections.clear()
    _end_other_sessions()  # the door's worker threads keep their own connections


DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
_DOVECOT_CONF = """
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:{dir}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={dir}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


ACCOUNTS = 200


@dataclass
class ImapServer:
    """A real Dovecot on loopback; each test takes an account of its own."""

    host: str
    port: int
    folder: Path
    accounts: list[tuple[str, str]]

    def account(self) -> tuple[str, str]:
        # Made before the server started: Dovecot notices a changed users file by its
        # modification time, to the second, so accounts added later may be missed.
        return self.accounts.pop()

    def client(self, user: str, password: str):
        from imapclient import IMAPClient

        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(user, password)
        return client


@pytest.fixture
def dovecot(dovecot_server: ImapServer, settings) -> ImapServer:
    """Dovecot, let past the outbound address policy: its loopback address and its port."""
    settings.OUTBOUND_ALLOWED_ADDRESSES = [dovecot_server.host]
    settings.IMAP_ALLOWED_PORTS = [993, 143, dovecot_server.port]
    return dovecot_server


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[ImapServer]:
    """Debian's Dovecot with a temporary config and maildir on a free loopback port.

    ``make test`` installs dovecot-imapd with apt when it can; without it these tests
    skip with the reason (a skip fails CI).
    """
    if not os.access(DOVECOT, os.X_OK):
        pytest.skip("Dovecot not found: install Debian's dovecot-imapd (make test does)")
    if os.geteuid() != 0:
        pytest.skip("The Dovecot fixture runs Dovecot as root (it drops to its own users)")
    # Dovecot's own users read the config and users file: the whole path must be
    # traversable, which pytest's private temporary folders are not.
    folder = Path(tempfile.mkdtemp(prefix="tlsrpt-dovecot-"))
    folder.chmod(0o755)
    for sub in ("run", "state", "mail"):
        (folder / sub).mkdir()
    shutil.chown(folder / "mail", "nobody", "nogroup")
    accounts = [(f"u{uuid.uuid4().hex[:12]}", uuid.uuid4().hex) for _ in range(ACCOUNTS)]
    (folder / "users").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in accounts))
    (folder / "users").chmod(0o644)
    port = _free_port()
    config = folder / "dovecot.conf"
    config.write_text(_DOVECOT_CONF.format(dir=folder, port=port))
    subprocess.run([DOVECOT, "-c", str(config)], check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield ImapServer("127.0.0.1", port, folder, accounts)
    subprocess.run([DOVECOT, "-c", str(config), "stop"], check=False)
    shutil.rmtree(folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Gunicorn:
    host: str
    port: int
    max_bytes: int


GUNICORN_MAX_BYTES = 64 * 1024


@pytest.fixture
def gunicorn_server(transactional_db: None, broker_url: str) -> Iterator[Gunicorn]:
    """The web app under a real gunicorn (one sync worker, Django loaded before it answers)
    on a free loopback port, against the test database, with a small
    ``TLSRPT_MAX_MESSAGE_BYTES``."""
    from tests.conftest import database_url

    env = {
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CONN_MAX_AGE": "0",
        "TLSRPT_MAX_MESSAGE_BYTES": str(GUNICORN_MAX_BYTES),
    }
    try:
        with gunicorn(env) as web:
            yield Gunicorn(web.host, web.port, GUNICORN_MAX_BYTES)
    finally:
        _end_other_sessions()
