"""API benchmark on the dashboard benchmark's large tenant: p50/p95, and requests/s.

``python bench/api.py`` uses the database ``bench/dashboard.py`` loaded (run that
first; ``--load`` loads a tenth of it here when it is missing), makes a read key, then:

* times 40 ``stats/daily`` requests for 90 days and 40 filtered ``reports`` pages
  (a domain, with failures) through Django's test client: p50 and p95;
* starts gunicorn with 2 workers and sends ``stats/daily`` requests from 8 concurrent
  connections of a second process's asyncio client: requests/s.

Targets on 2 cores: stats/daily p95 <= 50 ms, reports page p95 <= 80 ms.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import big_tenant, dashboard, servers  # noqa: E402

TARGETS_MS = {"stats_daily": 50.0, "reports": 80.0}
OUTPUT = ROOT / "var" / "bench" / "api.json"
LOAD_REQUESTS = 2000
CLIENTS = 8


def _setup(load: bool) -> None:
    os.environ.update(big_tenant.ENV)
    try:
        import django

        django.setup()
        from django_scopes import scopes_disabled

        from reports.models import Report

        with scopes_disabled():
            present = Report.objects.exists()
    except Exception:
        present = False
    if present:  # loaded by an older checkout: bring its schema up to date
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT, env={**os.environ, **big_tenant.ENV}, check=True,
        )  # fmt: skip
    else:
        if not load:
            sys.exit("Run bench/dashboard.py first (or pass --load for a smaller tenant).")
        big_tenant.prepare()
        big_tenant.load(100_000, 10)


def _load_test(secret: str, path: str) -> float:
    port = servers.free_port()
    env = {**os.environ, **big_tenant.ENV, "API_RATE_LIMIT": "1000000/min"}
    server = servers.start(
        [sys.executable, "-m", "gunicorn", "tlsrpt_saas.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--no-control-socket"],
        port, env, None,
    )  # fmt: skip
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {secret}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    try:
        servers.send_all(port, [request] * (4 * CLIENTS), b"200", CLIENTS)  # warm-up
        begin = time.perf_counter()
        servers.send_all(port, [request] * LOAD_REQUESTS, b"200", CLIENTS)
        return LOAD_REQUESTS / (time.perf_counter() - begin)
    finally:
        servers.stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", action="store_true", help="load a smaller tenant if needed")
    args = parser.parse_args()
    _setup(args.load)
    from django.test import Client
    from django_scopes import scopes_disabled

    from accounts.models import ApiKey, KeyScope, Tenant
    from domains.models import Domain

    with scopes_disabled():
        tenant = Tenant.objects.get(slug="big")
        ids = list(Domain.objects.filter(tenant=tenant).order_by("pk").values_list("pk", flat=True))
    _, secret = ApiKey.objects.create_key(tenant=tenant, name="bench", scope=KeyScope.READ)
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {secret}")
    last = big_tenant.LAST_DAY
    window = f"from={last - timedelta(days=89)}&to={last}"
    daily = [f"/api/v1/stats/daily?domain={ids[i * 7 % len(ids)]}&{window}" for i in range(40)]
    reports = [f"/api/v1/reports?domain={ids[i * 11 % len(ids)]}&has_failures=true"
               for i in range(40)]  # fmt: skip
    for urls in (daily, reports):  # warm-up: templates compiled, connections open
        dashboard.timings(client, urls[:3])
    results = {
        "stats_daily": dashboard.timings(client, daily),
        "reports": dashboard.timings(client, reports),
    }
    rate = _load_test(secret, f"/api/v1/stats/daily?domain={ids[0]}&{window}")

    print(f"\nAPI on the dashboard benchmark's tenant ({len(ids)} domains)")
    print(f"{'endpoint':<12} {'p50 ms':>8} {'p95 ms':>8} {'target':>8} {'ratio':>6}  result")
    for name, r in results.items():
        target = TARGETS_MS[name]
        verdict = "pass" if r["p95_ms"] <= target else "FAIL"
        ratio = target / r["p95_ms"]
        print(f"{name:<12} {r['p50_ms']:>8} {r['p95_ms']:>8} {target:>8} {ratio:>5.2f}x  {verdict}")
    print(
        f"stats/daily under load, gunicorn 2 workers, {CLIENTS} connections: {rate:,.0f} requests/s"
    )
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(
        json.dumps({"latency": results, "stats_daily_per_s": round(rate, 1)}, indent=2)
    )
    print(f"\nFigures written to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
