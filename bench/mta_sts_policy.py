"""Hosted MTA-STS policy endpoint through Caddy: requests/s and p95.

``python bench/mta_sts_policy.py`` creates the database ``tlsrpt_bench_sts`` (dropped
first) with one verified domain whose policy is hosted, starts gunicorn as the image
runs it (4 sync workers, access log on) and Caddy with ``docker/Caddyfile`` in front,
and loads ``GET /.well-known/mta-sts.txt`` with ``Host: mta-sts.<domain>`` from ``wrk``
(Debian's ``wrk``; keep-alive connections to Caddy) for ``--seconds``.

Plain HTTP to Caddy: the request goes through the (app) snippet every site imports and
Caddy's reverse proxy to gunicorn, as a hosted policy's request does, without the TLS
handshake, which ``wrk`` cannot make for a name that does not resolve here (and a real
sender makes once per connection). The site is SITE_ADDRESS set to ``http://:<port>``,
so that it takes any Host.

Target on 2 cores: 1,000 requests/s and p95 under 20 ms. Needs PostgreSQL on
127.0.0.1:5432 (user ``postgres``, trust) and Redis on 127.0.0.1:6379 (database 12).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import servers  # noqa: E402

DB = "tlsrpt_bench_sts"
DOMAIN = "bench-sts.example"
ENV = {
    "DJANGO_SETTINGS_MODULE": "tlsrpt_saas.settings",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
    "REDIS_URL": "redis://127.0.0.1:6379/12",
    "SECRET_KEY": "bench",
    "LOG_LEVEL": "WARNING",
}
TARGET_RPS = 1000.0
TARGET_P95_MS = 20.0
WORKERS = 4  # the image's WEB_CONCURRENCY: two per core
OUTPUT = ROOT / "var" / "bench" / "mta_sts_policy.json"
# wrk reports the 95th percentile (microseconds) and the non-200 answers through this.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("p95_us %d\\nbad_status %d\\nrequests %d\\nerrors %d\\n",
    latency:percentile(95), summary.errors.status, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
"""


def prepare() -> None:
    """A fresh database with one verified, hosted domain."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {DB}")
    env = {**os.environ, **ENV}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,
                   env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    os.environ.update(ENV)
    import django

    django.setup()
    from django.utils import timezone
    from django_scopes import scope

    from accounts.models import Tenant
    from domains.hosting.models import ChangeSource
    from domains.hosting.services import PolicySettings, hosted_policy_update
    from domains.models import Domain

    tenant = Tenant.objects.create(slug="bench", name="Bench")
    with scope(tenant=tenant):
        domain = Domain.objects.create(tenant=tenant, name=DOMAIN, verified_at=timezone.now())
        wanted = PolicySettings(enabled=True, mode="enforce", mx=[f"mx.{DOMAIN}"], max_age=86400)
        hosted_policy_update(domain=domain, wanted=wanted, actor=None, source=ChangeSource.API)


def wrk(port: int, seconds: int, connections: int, script: Path) -> dict[str, float]:
    cmd = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "-s", str(script),
           "-H", f"Host: mta-sts.{DOMAIN}",
           f"http://127.0.0.1:{port}/.well-known/mta-sts.txt"]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    figures = {k: float(v) for k, v in re.findall(r"^(\w+) (\d+)$", out, re.MULTILINE)}
    figures["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="length of the measured run")
    parser.add_argument("--connections", type=int, default=16, help="wrk's open connections")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install wrk")
    prepare()
    home = Path(tempfile.mkdtemp(prefix="bench-sts-"))
    script = home / "p95.lua"
    script.write_text(WRK_SCRIPT)
    upstream, site = servers.free_port(), servers.free_port()
    web = servers.start(
        [sys.executable, "-m", "gunicorn", "tlsrpt_saas.wsgi", "--bind", f"127.0.0.1:{upstream}",
         "--workers", str(WORKERS), "--access-logfile", "-", "--no-control-socket"],
        upstream, {**os.environ, **ENV}, None,
    )  # fmt: skip
    caddy_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "SITE_ADDRESS": f"http://:{site}",
        "UPSTREAM": f"127.0.0.1:{upstream}",
        "CADDY_ADMIN": "off",
        "HTTP_PORT": str(servers.free_port()),
        "HTTPS_PORT": str(servers.free_port()),
        "HOSTED_BIND": "127.0.0.1",
    }
    caddy = servers.start(
        ["caddy", "run", "--config", str(ROOT / "docker" / "Caddyfile"), "--adapter", "caddyfile"],
        site, caddy_env, home / "caddy.log",
    )  # fmt: skip
    try:
        check_answer(site)
        wrk(site, 2, args.connections, script)  # warm-up: the policy cached, workers ready
        load = os.getloadavg()[0]
        figures = wrk(site, args.seconds, args.connections, script)
    finally:
        servers.stop(caddy)
        servers.stop(web)
        shutil.rmtree(home, ignore_errors=True)
    report(figures, args, load)


def check_answer(port: int) -> None:
    """The answer under load is the policy itself, not an error page."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/.well-known/mta-sts.txt", headers={"Host": f"mta-sts.{DOMAIN}"})
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    if answer.status != 200 or not body.startswith(b"version: STSv1\r\nmode: enforce\r\n"):
        sys.exit(f"the policy endpoint answered {answer.status}: {body[:200]!r}")


def report(figures: dict[str, float], args: argparse.Namespace, load: float) -> None:
    rps, p95 = figures["rps"], figures["p95_us"] / 1000
    print(f"\nGET /.well-known/mta-sts.txt (Host: mta-sts.{DOMAIN}) through Caddy, plain HTTP,")
    print(f"gunicorn {WORKERS} sync workers, wrk {args.connections} keep-alive connections, "
          f"{args.seconds} s; load average before: {load:.2f}")  # fmt: skip
    print(f"{'figure':<12} {'measured':>10} {'target':>10} {'ratio':>7}  result")
    print(f"{'requests/s':<12} {rps:>10,.0f} {TARGET_RPS:>10,.0f} {rps / TARGET_RPS:>6.2f}x  "
          f"{'pass' if rps >= TARGET_RPS else 'FAIL'}")  # fmt: skip
    print(f"{'p95 ms':<12} {p95:>10.1f} {TARGET_P95_MS:>10.1f} {TARGET_P95_MS / p95:>6.2f}x  "
          f"{'pass' if p95 <= TARGET_P95_MS else 'FAIL'}")  # fmt: skip
    print(f"requests {figures['requests']:,.0f}, not 200: {figures['bad_status']:,.0f}, "
          f"socket errors: {figures['errors']:,.0f}")  # fmt: skip
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps({"requests_per_s": round(rps, 1), "p95_ms": round(p95, 2),
                                  "connections": args.connections, "seconds": args.seconds,
                                  "not_200": figures["bad_status"], "load_before": load},
                                 indent=2))  # fmt: skip
    print(f"\nFigures written to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
