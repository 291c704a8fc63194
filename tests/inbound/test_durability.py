"""Durability of the doors when Redis, the broker, goes away (real servers, real processes).

The test runs a Redis of its own (append-only file on, as docker/compose.yaml runs it),
the SMTP door and a Celery worker as separate processes, and stops and starts that
Redis under them.
"""

import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django_scopes import scope

from accounts.models import Tenant
from reports.models import InboundMessage, Status
from tests.conftest import ROOT, WorkerProcess, _end_other_sessions, database_url, wait_until
from tests.dnsserver import ZoneResolver
from tests.factories import make_domain, make_tenant
from tests.reports.mail import report_email, report_json

pytestmark = pytest.mark.django_db(transaction=True)
REDIS_SERVER = shutil.which("redis-server")


class OwnRedis:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="tlsrpt-redis-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        assert REDIS_SERVER is not None  # the fixture skips without it
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self._answers, timeout=10)

    def _answers(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis writes its append-only file and exits
            self.process.wait(10)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server not found (make test installs it when it can)")
    redis = OwnRedis()
    redis.start()
    yield redis
    redis.stop()
    shutil.rmtree(redis.folder, ignore_errors=True)


def _env(broker: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": broker,
            "CONN_MAX_AGE": "0", "LOG_LEVEL": "ERROR"}  # fmt: skip


def _manage(broker: str, code: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=_env(broker), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1]


def statuses(tenant: Tenant) -> list[str]:
    with scope(tenant=tenant):
        return list(InboundMessage.objects.order_by("pk").values_list("status", flat=True))


def _worker(own_redis: OwnRedis, dns_port: int) -> WorkerProcess:
    return WorkerProcess("durable", own_redis.url, dns_port)


@pytest.fixture
def acme() -> Tenant:
    tenant = make_tenant("acme")
    make_domain(tenant, "example.org")
    return tenant


def test_the_smtp_door_accepts_while_redis_is_down_and_the_sweep_catches_up(
    acme: Tenant, own_redis: OwnRedis, dns_zone: tuple[ZoneResolver, int]
) -> None:
    door = subprocess.Popen(
        [sys.executable, "manage.py", "inbound_smtp", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT, env=_env(own_redis.url), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    worker = None
    try:
        assert door.stdout is not None  # stdout=PIPE
        port = int(door.stdout.readline().rsplit(":", 1)[1])
        own_redis.stop()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for _ in range(3):
                raw = report_email(report_json(domain="example.org"))
                assert smtp.sendmail("a@sender.example", [acme.inbound_address], raw) == {}
        assert statuses(acme) == [Status.RECEIVED] * 3

        own_redis.start()
        assert (
            _manage(
                own_redis.url, "from reports.tasks import queue_unqueued_inbound as q; print(q())"
            )
            == "3"
        )
        worker = _worker(own_redis, dns_zone[1])
        wait_until(lambda: statuses(acme) == [Status.PROCESSED] * 3, timeout=60)
    finally:
        door.terminate()
        door.wait(10)
        if worker:
            worker.stop()
        _end_other_sessions()


def test_tasks_queued_before_a_redis_restart_are_all_processed_after(
    acme: Tenant, own_redis: OwnRedis, dns_zone: tuple[ZoneResolver, int]
) -> None:
    code = (
        "from accounts.models import Tenant; from reports.inbound.store import inbound_store;"
        "from tests.reports.mail import report_email, report_json;"
        f"t = Tenant.objects.get(pk={acme.pk});"
        "[inbound_store(tenant=t, channel='smtp', raw=report_email(report_json("
        "domain='example.org'))) for _ in range(5)]; print('ok')"
    )
    assert _manage(own_redis.url, code) == "ok"
    own_redis.stop()
    own_redis.start()
    worker = _worker(own_redis, dns_zone[1])
    try:
        wait_until(lambda: statuses(acme) == [Status.PROCESSED] * 5, timeout=60)
    finally:
        worker.stop()
        _end_other_sessions()
