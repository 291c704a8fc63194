"""Real servers for the suite: PostgreSQL or SQLite, Redis, a DNS server and Celery workers.

``make test`` finds or starts PostgreSQL and Redis and exports DATABASE_URL/REDIS_URL;
``make test DB=sqlite`` runs the same suite on a fresh SQLite file per xdist worker (the
``make run`` default). A test that proves PostgreSQL-only behaviour carries
``@pytest.mark.postgresql_only(reason=...)`` and is deselected on SQLite, never skipped.
Under CI (CI=true) a skipped test fails the run: every test must run there.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection
from django.test import Client

from accounts.models import Tenant
from tests.dnsserver import ZoneResolver, start_dns_server
from tests.factories import make_tenant, owner_of
from tests.httpsserver import StsServer, start_sts_server
from tests.web import fresh_client, login
from tlsrpt_saas.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "postgresql_only(reason): proves PostgreSQL-only behaviour; deselected on SQLite",
    )
    db = settings.DATABASES["default"]
    if not ("postgresql" in db["ENGINE"] or on_sqlite()) or not settings.REDIS_URL:
        pytest.exit(
            "The suite needs PostgreSQL (or SQLite) and Redis: run it with `make test` "
            "(or `make test DB=sqlite`), or set DATABASE_URL and REDIS_URL yourself.",
            returncode=2,
        )
    if on_sqlite() and not db.get("TEST", {}).get("NAME"):
        # A file, not SQLite's in-memory default: worker processes, the SMTP door's
        # threads and the live server must all see the test database. pytest-django
        # appends the xdist worker's name, so each worker gets a fresh file of its own.
        name = Path(db["NAME"])
        db.setdefault("TEST", {})["NAME"] = str(name.with_name(f"test_{name.name}"))


def on_sqlite() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On SQLite, leave out the tests that prove PostgreSQL-only behaviour, each of which
    must say why in its marker."""
    kept: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("postgresql_only")
        if marker and not marker.kwargs.get("reason"):
            raise pytest.UsageError(f"{item.nodeid}: postgresql_only needs reason=...")
        (left_out if marker and on_sqlite() else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if reporter and os.environ.get("CI") == "true" and skipped and exitstatus == 0:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; nothing may be skipped in CI.")
        session.exitstatus = 1


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker.startswith("gw") else 0


@pytest.fixture(scope="session")
def broker_url() -> str:
    """A Redis database of its own per xdist worker, so workers never take others' tasks.

    TEST_BROKER_DB_OFFSET shifts the numbers, for two suites run side by side.
    """
    offset = int(os.environ.get("TEST_BROKER_DB_OFFSET", "0"))
    base = (
        settings.REDIS_URL.rsplit("/", 1)[0]
        if "/" in settings.REDIS_URL[8:]
        else settings.REDIS_URL
    )
    url = f"{base}/{1 + (offset + _worker_index()) % 15}"
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture(scope="session", autouse=True)
def _isolated_broker(broker_url: str) -> None:
    celery_app.conf["broker_url"] = broker_url  # as attribute assignment does (read-only in stubs)
    celery_app.conf.broker_transport_options = {
        "visibility_timeout": 4,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }


@pytest.fixture(autouse=True)
def _empty_broker(broker_url: str) -> None:
    """No test inherits another's tasks: queued, held unacknowledged by a worker that was
    stopped (they would come back after the visibility timeout), or the "a drain is
    queued" flag (reports.ingest.wake)."""
    from reports.ingest.wake import FLAG

    queues = ("ingest", "dns", "mail", "default")
    redis.Redis.from_url(broker_url).delete(
        FLAG, *queues, "unacked", "unacked_index", "unacked_mutex"
    )


@pytest.fixture(scope="session")
def dns_zone() -> Iterator[tuple[ZoneResolver, int]]:
    server, resolver, port = start_dns_server()
    yield resolver, port
    server.stop()


@pytest.fixture(autouse=True)
def _cache_of_its_own(settings) -> None:
    """Each test's keys in the real Redis cache under a prefix of its own.

    Rate limits count there; a test must not inherit another's (or a previous run's)
    counts.
    """
    settings.CACHES = {
        name: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
        for name, config in settings.CACHES.items()
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """PBKDF2's deliberate slowness is for attackers; the suite creates many people."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings) -> None:
    """Pages render without a collectstatic manifest in tests."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def dns(dns_zone: tuple[ZoneResolver, int], settings) -> Iterator[ZoneResolver]:
    """Every test resolves against the loopback DNS server, which starts empty."""
    resolver, port = dns_zone
    resolver.clear()
    settings.DNS_NAMESERVERS = ["127.0.0.1"]
    settings.DNS_PORT = port
    settings.DNS_TIMEOUT = 2.0
    yield resolver
    resolver.clear()


@pytest.fixture
def celery_worker(transactional_db: None, broker_url: str) -> Iterator[object]:
    """A real Celery worker in this process, consuming the ingest queue from Redis."""
    with start_worker(
        celery_app,
        queues=["ingest", "dns", "mail", "default"],
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=30,
    ) as worker:
        yield worker
    _end_other_sessions()


def _end_other_sessions() -> None:
    """Workers' connections must not outlive the test: the test database is dropped last.

    SQLite has no server sessions: a file needs no one to let go of it."""
    if on_sqlite():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def database_url() -> str:
    """The test database's URL, for processes of their own (workers, the SMTP door)."""
    db = settings.DATABASES["default"]
    if on_sqlite():
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


class WorkerProcess:
    """A ``celery worker`` in its own process group, as production runs it."""

    def __init__(
        self, name: str, broker_url: str, dns_port: int, concurrency: int = 1, **settings: str
    ) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_VISIBILITY_TIMEOUT": "4",
            "DNS_NAMESERVERS": "127.0.0.1",
            "DNS_PORT": str(dns_port),
            "CONN_MAX_AGE": "0",
            **settings,
        }
        cmd = [
            sys.executable, "-m", "celery", "-A", "tlsrpt_saas", "worker",
            "-Q", "ingest", "-n", f"{name}@%h", "-c", str(concurrency), "-l", "warning",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        self.process = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
        self.name = name

    def kill(self) -> None:
        """SIGKILL the whole worker, parent and pool children, with no chance to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker_processes(
    transactional_db: None, broker_url: str, dns_zone: tuple[ZoneResolver, int]
) -> Iterator[object]:
    """Factory of real worker processes; all are stopped at the end of the test."""
    started: list[WorkerProcess] = []

    def start(name: str, concurrency: int = 1, **settings: str) -> WorkerProcess:
        """``settings``: environment variables of the worker's own (INGEST_BATCH_SIZE...)."""
        worker = WorkerProcess(name, broker_url, dns_zone[1], concurrency, **settings)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    _end_other_sessions()


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05) -> None:
    """Poll ``predicate`` until true; the event awaited is a database state change."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"Condition not met within {timeout}s: {predicate}")


@pytest.fixture
def acme() -> Tenant:
    """A tenant (slug acme) with its owner."""
    return make_tenant("acme")


@pytest.fixture
def owner(acme: Tenant) -> Client:
    """A client logged in as acme's owner, from an address of its own."""
    client = fresh_client()
    login(client, owner_of(acme))
    return client


@pytest.fixture(scope="session")
def sts_server() -> Iterator[StsServer]:
    """An HTTPS server on loopback serving MTA-STS policies, its certificates from a test CA."""
    server, _, _ = start_sts_server()
    yield server
    server.stop()


@pytest.fixture
def sts(sts_server: StsServer, dns: ZoneResolver, settings) -> StsServer:
    """The HTTPS server with no policies and empty logs; the app fetches policies from it.

    Only its address is allowed past the fetch's private-address guard.
    """
    sts_server.reset()
    settings.MTA_STS_PORT = sts_server.port
    settings.MTA_STS_CA_FILE = sts_server.ca_file
    settings.MTA_STS_ALLOWED_ADDRESSES = ["127.0.0.1"]
    settings.MTA_STS_TIMEOUT = 2.0
    return sts_server


@pytest.fixture
def mail_sink(settings) -> Iterator[object]:
    """A real SMTP server (tests.mailsink) that Django's SMTP backend sends all mail to."""
    from tests.mailsink import MailSink

    sink = MailSink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = sink.host
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    yield sink
    sink.stop()
