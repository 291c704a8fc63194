"""Inbound doors benchmark: messages stored per second through real SMTP and HTTPS.

``python bench/inbound.py [--quick]`` starts, against its own database (``tlsrpt_bench``,
recreated) and Redis database 14:

* ``manage.py inbound_smtp`` and sends typical report e-mails to the tenant's address
  over several concurrent SMTP connections, as sending MTAs do;
* gunicorn as the ``Procfile`` runs it (``WEB_CONCURRENCY`` workers, default 4) and
  POSTs typical reports to the tenant's RFC 8460 section 5.4 URL as
  ``application/tlsrpt+gzip`` from concurrent clients.

Each figure is from the first byte sent until every message is a committed row, the
median of several runs. Targets on 2 cores: SMTP >= 200 messages/s, HTTPS >= 300
requests/s. Clients run on the same machine and share its cores.
"""

import argparse
import gzip
import json
import os
import random
import smtplib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import e2e, servers  # noqa: E402
from bench.messages import TYPICAL, generate, report_json  # noqa: E402

TARGETS = {"smtp": 200.0, "https": 300.0}
SIZES = {"full": (2000, 3), "quick": (400, 1)}
CLIENTS = 8
OUTPUT = ROOT / "var" / "bench" / "inbound.json"


def start(cmd: list[str], port: int) -> subprocess.Popen:
    # The per-URL rate limit is not what is measured here.
    env = {
        **os.environ,
        **e2e.ENV,
        "CONN_MAX_AGE": "60",
        "TLSRPT_HTTPS_RATE_PER_MINUTE": "10000000",
    }
    log = e2e.LOGS / f"{cmd[2] if cmd[1] == 'manage.py' else 'gunicorn'}.log"
    return servers.start(cmd, port, env, log)


def stored() -> int:
    from django_scopes import scopes_disabled

    from reports.models import InboundMessage

    with scopes_disabled():
        return InboundMessage.objects.count()


def clear() -> None:
    import redis
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE reports_inboundmessage RESTART IDENTITY CASCADE")
    redis.Redis.from_url(e2e.ENV["REDIS_URL"]).flushdb()  # the queued tasks


def timed(send_all: Callable[[], object], count: int) -> float:
    clear()
    begin = time.perf_counter()
    send_all()
    sent = time.perf_counter() - begin
    while stored() < count:
        time.sleep(0.01)
    total = time.perf_counter() - begin
    print(f"  {count} sent in {sent:.2f}s, all stored after {total:.2f}s", flush=True)
    return total


def smtp_runs(port: int, address: str, messages: list[bytes], runs: int) -> list[float]:
    shares = [messages[i::CLIENTS] for i in range(CLIENTS)]

    def client(share: list[bytes]) -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for raw in share:
                smtp.sendmail("noreply-smtp-tls-reporting@google.com", [address], raw)

    def send_all() -> None:
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(client, shares))

    with ThreadPoolExecutor(CLIENTS) as pool:  # warm-up: the door's threads and connections
        list(pool.map(client, [s[:4] for s in shares]))
    return [timed(send_all, len(messages)) for _ in range(runs)]


def https_runs(port: int, path: str, bodies: list[bytes], runs: int) -> list[float]:
    """Each report POSTed on a connection of its own, as a sending MTA does."""
    requests = [
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/tlsrpt+gzip\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        + body
        for body in bodies
    ]
    # Warm-up: every worker has loaded its URLs and connections.
    servers.send_all(port, requests[: 4 * CLIENTS], b"201", CLIENTS)
    return [
        timed(lambda: servers.send_all(port, requests, b"201", CLIENTS), len(bodies))
        for _ in range(runs)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, smaller runs")
    args = parser.parse_args()
    count, runs = SIZES["quick" if args.quick else "full"]
    messages, _ = generate(TYPICAL, count)
    rng = random.Random(8460)
    bodies = [
        gzip.compress(json.dumps(report_json(rng, TYPICAL, i)).encode()) for i in range(count)
    ]
    e2e.prepare()
    from django_scopes import scopes_disabled

    from accounts.models import Tenant

    with scopes_disabled():
        tenant = Tenant.objects.get(slug=e2e.TENANT)
    results = {}

    port = servers.free_port()
    smtp = start([sys.executable, "manage.py", "inbound_smtp", "--port", str(port)], port)
    try:
        results["smtp"] = smtp_runs(port, tenant.inbound_address, messages, runs)
    finally:
        servers.stop(smtp)

    port = servers.free_port()
    web = start(
        [sys.executable, "-m", "gunicorn", "tlsrpt_saas.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", os.environ.get("WEB_CONCURRENCY", "4"), "--no-control-socket"],
        port,
    )  # fmt: skip
    try:
        results["https"] = https_runs(port, f"/tlsrpt/{tenant.inbound_token}", bodies, runs)
    finally:
        servers.stop(web)

    doors: dict[str, dict] = {}
    report = {"messages": count, "runs": runs, "clients": CLIENTS, "doors": doors}
    print(f"\nInbound doors, {count} typical reports, {CLIENTS} clients, median of {runs}")
    print(f"{'door':<6} {'stored/s':>9} {'target':>8} {'ratio':>6}  result")
    for door, seconds in results.items():
        rate = count / statistics.median(seconds)
        ratio = rate / TARGETS[door]
        verdict = "pass" if ratio >= 1 else "FAIL"
        print(f"{door:<6} {rate:>9,.1f} {TARGETS[door]:>8,.0f} {ratio:>5.2f}x  {verdict}")
        doors[door] = {"per_s": round(rate, 1), "runs_s": seconds, "ratio": ratio}
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(report, indent=2))
    print(f"\nFigures written to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
