"""Webhook fan-out benchmark: 10,000 ``report.received`` events to 3 endpoints on loopback.

``python bench/webhooks.py [-n 10000] [--concurrency 2]`` recreates the PostgreSQL
database ``tlsrpt_bench_webhooks`` (Redis database 10 as broker), gives one tenant three
generic endpoints subscribed to ``report.received`` and starts one real ``celery worker``
on the ``webhooks`` queue with ``--concurrency`` processes (prefork). The events are
recorded as the batch store records them (``reports.webhooks.hooks.reports_received``, 100
reports per transaction, so 300 delivery rows per insert and their sending queued on
commit in chunks of 50), and the worker signs and POSTs each one through the outbound
address policy to a receiver process on loopback (asyncio, three ports, 200 to each
request), which notes when each ``webhook-id`` arrived.

The endpoints are plain HTTP (``WEBHOOKS_ALLOW_HTTP=true``, loopback allow-listed with
``OUTBOUND_ALLOWED_ADDRESSES``): the figure is the product's work per delivery, not TLS
handshakes. Prints deliveries/s (every delivery, from the first event recorded to the
last request received) and p50/p95 from an event's row to its arrival, against the
target on 2 cores: at least 500 deliveries/s. The events come as one burst unless
``--rate`` paces them (events per second): a burst's p95 is mostly time in the queue, a
paced run's the time a delivery takes. Figures in var/bench/webhooks.json.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB = "tlsrpt_bench_webhooks"
ENV = {
    "DJANGO_SETTINGS_MODULE": "tlsrpt_saas.settings",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
    "REDIS_URL": "redis://127.0.0.1:6379/10",
    "SECRET_KEY": "bench",
    "DNS_NAMESERVERS": "127.0.0.1",
    "DNS_PORT": "9",
    "LOG_LEVEL": "WARNING",
    "WEBHOOKS_ALLOW_HTTP": "true",
    "OUTBOUND_ALLOWED_ADDRESSES": "127.0.0.1",
}
TARGET = 500.0  # deliveries per second
PER_BATCH = 100
LOGS = ROOT / "var" / "bench"


# --- the receiver (its own process) ------------------------------------------------------


async def _serve(ports: list[int], expect: int, out: Path) -> None:
    arrivals: dict[str, float] = {}
    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:  # a probe of the port, not a request
            writer.close()
            return
        headers = dict(
            line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:] if ": " in line
        )
        lower = {k.lower(): v for k, v in headers.items()}
        await reader.readexactly(int(lower.get("content-length", "0")))
        arrivals.setdefault(lower.get("webhook-id", ""), time.time())
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()
        if len(arrivals) >= expect:
            done.set()

    servers = [await asyncio.start_server(handle, "127.0.0.1", port) for port in ports]
    await done.wait()
    for server in servers:
        server.close()
    out.write_text(json.dumps(arrivals))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"the receiver is not listening on {port}")


# --- the benchmark ------------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, **ENV}


def prepare() -> None:
    import psycopg
    import redis

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {DB}")
    redis.Redis.from_url(ENV["REDIS_URL"]).flushdb()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT, env=_env(), check=True,
    )  # fmt: skip
    os.environ.update(ENV)
    import django

    django.setup()


def start_worker(concurrency: int) -> subprocess.Popen:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / "webhooks-worker.log").open("wb")
    cmd = [
        sys.executable, "-m", "celery", "-A", "tlsrpt_saas", "worker", "-Q", "webhooks",
        "-n", f"benchhooks@{socket.gethostname()}", "-c", str(concurrency), "-P", "prefork",
        "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    worker = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=log, stderr=log,
                              start_new_session=True)  # fmt: skip
    from tlsrpt_saas.celery import app

    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[f"benchhooks@{socket.gethostname()}"], timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the worker did not start, see var/bench/webhooks-worker.log")
    return worker


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def setup_tenant(ports: list[int]) -> int:
    from django_scopes import scope

    from accounts.models import Tenant
    from reports.webhooks.services import webhook_endpoint_create

    tenant = Tenant.objects.create(slug="bench", name="Bench")
    with scope(tenant=tenant):
        for port in ports:
            webhook_endpoint_create(
                tenant=tenant, url=f"http://127.0.0.1:{port}/hook", description="",
                kind="generic", events=["report.received"], actor=None,
            )  # fmt: skip
    return tenant.pk


def record_events(tenant_id: int, count: int, rate: float = 0.0) -> float:
    """Record ``count`` report.received events as the batch store does, as fast as it can
    or ``rate`` events a second; seconds taken."""
    from django.db import transaction
    from django_scopes import scope

    from reports.webhooks.events import PolicyNumbers, ReportFacts
    from reports.webhooks.hooks import reports_received

    now = datetime.now(UTC)
    policies = [PolicyNumbers("sts", "bench.example", None, 990, 10, True)]
    started = time.monotonic()
    for first in range(0, count, PER_BATCH):
        facts = [
            ReportFacts(tenant_id, n + 1, "Google Inc.", f"report-{n}", now, now, 990, 10, policies)
            for n in range(first, min(first + PER_BATCH, count))
        ]
        if rate:  # paced: this batch's turn comes at first / rate seconds
            time.sleep(max(0.0, started + first / rate - time.monotonic()))
        now = datetime.now(UTC)
        with scope(tenant=tenant_id), transaction.atomic():
            reports_received(facts)
    return time.monotonic() - started


def _wait_written(total: int, timeout: float = 60.0) -> None:
    """Until the worker has written every outcome (it writes a chunk's together)."""
    from django_scopes import scopes_disabled

    from reports.webhooks.models import WebhookDelivery

    deadline = time.monotonic() + timeout
    with scopes_disabled():
        while time.monotonic() < deadline:
            if WebhookDelivery.objects.filter(status="succeeded").count() >= total:
                return
            time.sleep(0.2)


def figures(arrivals: dict[str, float], count: int) -> dict:
    from django_scopes import scopes_disabled

    from reports.webhooks.models import WebhookDelivery

    with scopes_disabled():
        rows = list(WebhookDelivery.objects.values_list("message_id", "created_at", "status"))
    created = {m: c.timestamp() for m, c, _ in rows}
    latencies = sorted(arrivals[m] - created[m] for m in created if m in arrivals)
    first_event = min(created.values())
    elapsed = max(arrivals.values()) - first_event
    rate = len(arrivals) / elapsed
    return {
        "events": count,
        "deliveries": len(rows),
        "received": len(arrivals),
        "succeeded": sum(1 for *_, s in rows if s == "succeeded"),
        "seconds": round(elapsed, 2),
        "deliveries_per_second": round(rate, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
        "target_per_second": TARGET,
        "ratio_to_target": round(rate / TARGET, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="report.received events")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--rate", type=float, default=0.0,
        help="events per second (default: one burst, as fast as they can be recorded)",
    )  # fmt: skip
    args = parser.parse_args()
    load_before = os.getloadavg()
    prepare()
    ports = [_free_port() for _ in range(3)]
    out = LOGS / "webhooks-arrivals.json"
    LOGS.mkdir(parents=True, exist_ok=True)
    receiver = subprocess.Popen(
        [sys.executable, __file__, "--receive", ",".join(map(str, ports)), str(args.n * 3),
         str(out)], cwd=ROOT,
    )  # fmt: skip
    for port in ports:
        _wait_listening(port)
    worker = start_worker(args.concurrency)
    try:
        tenant_id = setup_tenant(ports)
        recording = record_events(tenant_id, args.n, args.rate)
        receiver.wait(timeout=600)
        _wait_written(args.n * 3)
    finally:
        stop(worker)
        if receiver.poll() is None:
            receiver.kill()
    result = figures(json.loads(out.read_text()), args.n)
    result |= {
        "recording_seconds": round(recording, 2),
        "worker_concurrency": args.concurrency,
        "events_per_second_offered": args.rate or "burst",
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    (LOGS / "webhooks.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--receive":
        ports = [int(p) for p in sys.argv[2].split(",")]
        asyncio.run(_serve(ports, int(sys.argv[3]), Path(sys.argv[4])))
    else:
        main()
