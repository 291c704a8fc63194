"""The end-to-end benchmark's surroundings: its own database, Redis database and workers.

Nothing here touches the developer's data: PostgreSQL database ``tlsrpt_bench`` is
dropped and created anew, Redis database 14 is flushed, and DNS points at the discard
port on loopback so that no lookup leaves the machine. ``prepare`` ends with Django set
up in this process against that database; workers are real ``celery worker`` processes.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import redis
from celery import Celery

from bench.messages import DOMAIN

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "tlsrpt_bench"
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
ENV = {
    "DJANGO_SETTINGS_MODULE": "tlsrpt_saas.settings",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
    "SECRET_KEY": "bench",
    "DNS_NAMESERVERS": "127.0.0.1",
    "DNS_PORT": "9",
    "LOG_LEVEL": "WARNING",
}
TENANT = "bench"
LOGS = ROOT / "var" / "bench"


def _env() -> dict[str, str]:
    return {**os.environ, **ENV}


def manage(*args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def prepare() -> None:
    """A fresh database with one tenant and its verified domain; Django set up on it."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    redis.Redis.from_url(ENV["REDIS_URL"]).flushdb()
    manage("migrate", "--noinput", "-v", "0")
    manage("createtenant", TENANT, "--owner", "bench@example.com")
    manage("adddomain", TENANT, DOMAIN, "--verified")
    os.environ.update(ENV)
    import django

    django.setup()


class Worker:
    """``celery worker -c N`` on the ingest queue, in its own process group."""

    def __init__(self, concurrency: int, extra: list[str] | None = None) -> None:
        self.name = f"bench{concurrency}@{socket.gethostname()}"
        cmd = [
            sys.executable, "-m", "celery", "-A", "tlsrpt_saas", "worker", "-Q", "ingest",
            "-n", self.name, "-c", str(concurrency), "-P", "prefork", "-l", "warning",
            "--without-gossip", "--without-mingle", "--without-heartbeat", *(extra or []),
        ]  # fmt: skip
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log = LOGS / f"worker-c{concurrency}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                cmd, cwd=ROOT, env=_env(), stdout=log, stderr=log, start_new_session=True
            )
        self.concurrency = concurrency

    @property
    def app(self) -> Celery:
        # Imported once Django's settings point at the benchmark's broker.
        from tlsrpt_saas.celery import app

        return app

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited, see {self.log}")
            if self.app.control.ping(destination=[self.name], timeout=0.5):
                return
        raise RuntimeError(f"worker {self.name} did not answer a ping in {timeout}s")

    def tasks_done(self) -> int:
        stats = (
            self.app.control.inspect(destination=[self.name], timeout=1.0, limit=1).stats() or {}
        )
        info = stats.get(self.name)
        return sum(info.get("total", {}).values()) if info is not None else 0

    def consume(self, on: bool) -> None:
        """Start or stop taking tasks from the ingest queue (the worker stays up)."""
        control = self.app.control
        command = control.add_consumer if on else control.cancel_consumer
        replies = command("ingest", destination=[self.name], reply=True, timeout=5.0)
        if not replies:
            raise RuntimeError(f"worker {self.name} did not answer {command.__name__}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
