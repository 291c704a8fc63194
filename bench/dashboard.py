"""Dashboard benchmark: page and API times on a large tenant, warm and cold, p50 and p95.

``python bench/dashboard.py [--scale N | --scales N,M,...] [--quick] [--reuse] [--explain]
[--purge]`` recreates the PostgreSQL database ``tlsrpt_bench_dash`` and loads one tenant
("big") with 200 verified domains and two years of reports (1,000,000 reports, 10,000,000
failure details; ``--quick``: a tenth) with COPY, plus five reports of one policy with
2,000 failure details each on the last days, builds the daily rollups from them in SQL
(``bench/big_tenant.py``), then requests through Django's test client, logged in as the
owner (the API with a read key):

* the tenant overview (30 days, every domain);
* a domain dashboard for 90 days (a different domain each time);
* the report list: filtered by domain and "has failures" (``list``), unfiltered, by
  domain alone and by sending organization;
* the overview and a domain dashboard for all the years the rollups hold (2019 on):
  long ranges read the rollups, summed and bucketed in the database;
* the page of a report with 2,000 failure details;
* the CSV exports of 90 days of one domain, failure details and daily figures, timed to
  their last byte; for the domain holding the large reports, each export's size and
  Python's peak memory while producing it (tracemalloc, in a run of its own: tracing
  slows what it traces);
* the API's ``stats/daily`` for one domain over 90 days and the first page of its
  ``failures`` for the same.

Each is timed warm (the connection kept, as ``CONN_MAX_AGE`` keeps it) and cold, fewer
times: before each cold request Django's connections are closed and a new one is opened
and reset (``DISCARD ALL``, as a pool resets a server connection), so the request meets a
new PostgreSQL backend with empty catalog and plan caches; the connection's set-up itself
is not in the figure. The load average and CPUs are printed before timing: the figures
want the machine to themselves.

``--scale N`` sizes the data in units of 100,000 reports (each of 10 failure details)
and 20 domains: 10, the default, is the above; 100 is 10,000,000 reports and 100,000,000
failure details over 2,000 domains of 200 tenants, the timed tenant ("big") keeping its
200 domains, so that its pages are read from tables ten times as large; a fraction (0.1)
makes a smoke test. It prints the load time and each table's and its indexes' sizes (a
partitioned table's summed over its partitions, which are made for every loaded month).
``--database`` names another database for a single scale. ``--scales 10,100`` runs the
whole benchmark once for each scale, smallest first, each in a process and a database of
its own (``tlsrpt_bench_dash_s10``, ``tlsrpt_bench_dash_s100``), then compares: each
page's warm p95 at each scale, flat when the largest scale's is at most 1.3 times the
smallest's. ``--reuse`` times the data loaded last time (each scale's, with ``--scales``).

Targets (p95, warm, 2 cores; issue 19): dashboard <= 100 ms, overview <= 150 ms, report
list <= 100 ms (every filter above); over all years: overview <= 600 ms, dashboard <= 200
ms; API ``stats/daily`` <= 50 ms. The report page, the exports and the API's failures have
none: their figures are printed with "-". ``--explain`` prints the plans of each page's
two slowest queries; ``--purge``, last, times the retention purge of the oldest month.
Figures go to ``var/bench/dashboard.json``, one entry per scale.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:  # Django is set up by run_scale(), after the environment is set
    from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import big_tenant  # noqa: E402
from bench.big_tenant import LAST_DAY  # noqa: E402

TARGETS_MS = {"dashboard": 100.0, "overview": 150.0, "list": 100.0,
              "overview-years": 600.0, "dashboard-years": 200.0,
              "list-all": 100.0, "list-domain": 100.0, "list-org": 100.0,
              "api-stats-daily": 50.0}  # fmt: skip
COLD_REQUESTS = 10  # a new connection each: fewer than warm, to keep the run short
FLAT = 1.3  # largest scale's p95 over the smallest's
OUTPUT = ROOT / "var" / "bench" / "dashboard.json"


@dataclass(frozen=True)
class Page:
    name: str
    urls: list[str]
    client: "Client"  # the owner's session, or the API's read key


def pages_of(web: "Client", api: "Client", ids: list[int], large: list[int]) -> list[Page]:
    """The timed requests: ``ids`` are the tenant's domains, ``large`` the large reports."""
    window = f"from={LAST_DAY - timedelta(days=89)}&to={LAST_DAY}"
    month = f"from={LAST_DAY - timedelta(days=29)}&to={LAST_DAY}"
    years = f"from=2019-01-01&to={LAST_DAY}"

    def domain(i: int, step: int = 7) -> int:  # a different domain each time
        return ids[i * step % len(ids)]

    # The exports start with the first domain: it holds the large reports.
    return [
        Page("overview", [f"/t/big/?{month}"] * 20, web),
        Page("dashboard", [f"/t/big/domains/{domain(i)}/dashboard/?{window}"
                           for i in range(40)], web),
        Page("list", [f"/t/big/reports/?domain={domain(i, 11)}&failures=yes"
                      for i in range(40)], web),
        Page("overview-years", [f"/t/big/?{years}"] * 10, web),
        Page("dashboard-years", [f"/t/big/domains/{domain(i)}/dashboard/?{years}"
                                 for i in range(20)], web),
        Page("list-all", ["/t/big/reports/"] * 40, web),
        Page("list-domain", [f"/t/big/reports/?domain={domain(i, 11)}" for i in range(40)], web),
        Page("list-org", [f"/t/big/reports/?{urlencode({'organization': org})}"
                          for org in big_tenant.ORGS * 10], web),
        Page("report-detail", [f"/t/big/reports/{large[i % len(large)]}/"
                               for i in range(20)], web),
        Page("csv-failures", [f"/t/big/export/failures.csv?domain={domain(i)}&{window}"
                              for i in range(10)], web),
        Page("csv-daily", [f"/t/big/export/daily.csv?domain={domain(i)}&{window}"
                           for i in range(10)], web),
        Page("api-stats-daily", [f"/api/v1/stats/daily?domain={domain(i)}&{window}"
                                 for i in range(40)], api),
        Page("api-failures", [f"/api/v1/failures?domain={domain(i)}&{window}"
                              for i in range(40)], api),
    ]  # fmt: skip


def _fetch(client: "Client", url: str) -> int:
    """Request ``url`` and read the response to its last byte; its size in bytes."""
    from django.http import StreamingHttpResponse

    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    if isinstance(response, StreamingHttpResponse):  # produced as it is read: to its end
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def timings(client: "Client", urls: list[str], before: Callable[[], None] | None = None) -> dict:
    """p50 and p95 of requesting ``urls``, ``before`` called ahead of each (untimed)."""
    times = []
    for url in urls:
        if before:
            before()
        begin = time.perf_counter()
        _fetch(client, url)
        times.append(1000 * (time.perf_counter() - begin))
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(p95, 1)}


def _new_connection() -> None:
    """A new PostgreSQL backend for the next request, as after a pool's restart."""
    from django.db import connection, connections

    connections.close_all()
    with connection.cursor() as cursor:
        cursor.execute("DISCARD ALL")
    # DISCARD ALL resets the session's time zone too; Django set it when connecting, as
    # a pool sets the client's settings again on the server connection it hands out.
    connection.init_connection_state()


def cold_timings(client: "Client", urls: list[str]) -> dict:
    return timings(client, urls[:COLD_REQUESTS], before=_new_connection)


def export_measure(client: "Client", url: str) -> dict:
    """An export's size, and Python's peak allocation while producing and reading it
    (tracemalloc sees Python's allocations only: libpq's buffers are not counted)."""
    tracemalloc.start()
    try:
        size = _fetch(client, url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"url": url, "kb": round(size / 1024), "peak_mb": round(peak / 2**20, 2)}


def machine() -> dict:
    load = os.getloadavg()
    print(f"\nLoad average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs "
          "(benchmarks want the machine to themselves)", flush=True)  # fmt: skip
    return {"load_average": [round(n, 2) for n in load], "cpus": os.cpu_count()}


def scale_sizes(scale: float) -> tuple[int, int, int]:
    """Reports, domains and tenants of a scale."""
    reports = round(scale * big_tenant.REPORTS_PER_SCALE)
    domains = max(1, round(scale * big_tenant.DOMAINS_PER_SCALE))
    # Other tenants only once the timed tenant's 200 domains are taken.
    tenants = max(1, round(scale * big_tenant.TENANTS_PER_SCALE))
    return reports, domains, (tenants if domains > big_tenant.DOMAINS else 1)


def data_ready(scale: float, database: str, reuse: bool) -> tuple[int, dict]:
    """Django set up on ``database``, loaded now or as loaded before (``reuse``): the
    reports it holds and the load's figures."""
    reports, domains, tenants = scale_sizes(scale)
    if reuse:
        big_tenant.setup(database)
        from django_scopes import scopes_disabled

        from reports.models import Report

        with scopes_disabled():
            return Report.objects.count(), {"reused": True}
    big_tenant.prepare(database)
    print(f"Loading {reports:,} reports and {10 * reports:,} failure details over "
          f"{domains:,} domains of {tenants} tenants into {database}...", flush=True)  # fmt: skip
    loaded = big_tenant.load(reports, 10, domains, tenants)
    print(f"Loaded in {loaded['load_s']} s (with rollups and ANALYZE {loaded['total_s']} s)")
    return reports, loaded


def clients() -> tuple["Client", "Client"]:
    """The owner's browser, and an API client with a read key of the tenant."""
    from django.test import Client
    from django_scopes import scopes_disabled

    from accounts.models import ApiKey, KeyScope, Tenant, User

    web = Client(HTTP_HOST="127.0.0.1")
    web.force_login(User.objects.get(email="owner@big.example"))
    with scopes_disabled():
        tenant = Tenant.objects.get(slug="big")
    _, secret = ApiKey.objects.create_key(tenant=tenant, name="bench", scope=KeyScope.READ)
    return web, Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {secret}")


def pages_time(pages: list[Page]) -> dict[str, dict]:
    """Each page warm, then cold, with its target."""
    for page in pages:  # warm-up: templates compiled, connections open
        timings(page.client, page.urls[:3])
    results = {page.name: timings(page.client, page.urls) for page in pages}
    for page in pages:
        cold = cold_timings(page.client, page.urls)
        results[page.name].update(cold_p50_ms=cold["p50_ms"], cold_p95_ms=cold["p95_ms"])
    for name, r in results.items():
        r["target_ms"] = TARGETS_MS.get(name)
    return results


def run_scale(scale: float, database: str, *, reuse: bool, explain: bool, purge: bool) -> dict:
    """Load (or reuse) one scale's data, time every page: the scale's figures."""
    reports, loaded = data_ready(scale, database, reuse)
    table_sizes = big_tenant.sizes()
    big_tenant.sizes_print(table_sizes)
    from django_scopes import scopes_disabled

    from domains.models import Domain

    with scopes_disabled():
        domains = Domain.objects.filter(tenant__slug="big").order_by("pk")
        ids = list(domains.values_list("pk", flat=True))
    large = big_tenant.large_reports()
    # Pages are served as gunicorn's workers serve them: the application loaded and
    # warmed by its WSGI module, which then freezes what it loaded out of the collector.
    import tlsrpt_saas.wsgi  # noqa: F401

    web, api = clients()
    pages = pages_of(web, api, ids, large)
    entry: dict[str, Any] = {"scale": scale, "database": database, "reports": reports,
                             "load": loaded, "sizes": table_sizes}  # fmt: skip
    entry["machine"] = machine()  # just before timing: how busy the machine is
    entry["pages"] = pages_time(pages)
    entry["exports"] = {page.name: export_measure(web, page.urls[0])
                        for page in pages if page.name.startswith("csv-")}  # fmt: skip
    results_print(entry, len(ids))
    if explain:
        explain_print(pages)
    if purge:
        entry["purge"] = big_tenant.purge_month()
        big_tenant.purge_print(entry["purge"])
    return entry


def results_print(entry: dict, domains: int) -> None:
    reports = entry["reports"]
    print(
        f"\nPages on {reports:,} reports, {10 * reports:,} failure details, {domains} domains "
        f"of the timed tenant (cold: {COLD_REQUESTS} requests, each on a new connection)"
    )
    print(f"{'page':<16} {'p50 ms':>8} {'p95 ms':>8} {'target':>8} {'ratio':>6}  result "
          f"{'cold p50':>9} {'cold p95':>9}")  # fmt: skip
    for name, r in entry["pages"].items():
        target = r["target_ms"]
        if target is None:
            judged = f"{'-':>8} {'-':>6}  {'-':<6}"
        else:
            verdict = "pass" if r["p95_ms"] <= target else "FAIL"
            judged = f"{target:>8} {target / r['p95_ms']:>5.2f}x  {verdict:<6}"
        print(f"{name:<16} {r['p50_ms']:>8} {r['p95_ms']:>8} {judged} "
              f"{r['cold_p50_ms']:>9} {r['cold_p95_ms']:>9}")  # fmt: skip
    print("\nCSV exports of 90 days of the domain holding the large reports")
    print(f"{'export':<16} {'KB':>8} {'peak MB':>8}")
    for name, e in entry["exports"].items():
        print(f"{name:<16} {e['kb']:>8,} {e['peak_mb']:>8}")


def explain_print(pages: list[Page]) -> None:
    """The plans of each page's two slowest queries, as the page really runs them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for page in pages:
        with CaptureQueriesContext(connection) as captured:
            _fetch(page.client, page.urls[0])
        slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:2]
        for query in slowest:
            if not (sql := _explainable(query["sql"])):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
                print(f"\n--- {page.name}: {query['sql'][:160]}...")
                for (line,) in cursor.fetchall():
                    print(line)


# An iterator()'s query (the exports'), which Django declares as a server-side cursor.
_DECLARE = re.compile(r'DECLARE\s+"[^"]+"\s+NO SCROLL CURSOR\s+(WITH(OUT)? HOLD\s+)?FOR\s+')


def _explainable(sql: str) -> str | None:
    """The query to explain: a read, taken out of its cursor's DECLARE; None for others."""
    sql = _DECLARE.sub("", sql.lstrip(), count=1)
    return sql if sql.upper().startswith(("SELECT", "WITH")) else None


def scale_database(scale: float) -> str:
    """A scale's own database: tlsrpt_bench_dash_s10, tlsrpt_bench_dash_s0_1."""
    return f"{big_tenant.DB}_s{scale:g}".replace(".", "_")


def run_scales(scales: list[float], args: argparse.Namespace) -> list[dict]:
    """Each scale in a process of its own, as a single run would be: nothing loaded or
    frozen by one scale stays in memory for the next."""
    flags = [f"--{name}" for name in ("reuse", "explain", "purge") if getattr(args, name)]
    entries = []
    with tempfile.TemporaryDirectory() as directory:
        for scale in scales:
            print(f"\n=== Scale {scale:g} ({scale_database(scale)})", flush=True)
            entry = Path(directory) / f"{scale:g}.json"
            command = [sys.executable, __file__, "--scale", str(scale), "--database",
                       scale_database(scale), "--entry", str(entry), *flags]  # fmt: skip
            subprocess.run(command, check=True)
            entries.append(json.loads(entry.read_text()))
    return entries


def flatness(entries: list[dict]) -> dict[str, dict]:
    """Each page's warm p95 at each scale, and the largest scale's over the smallest's: a
    page that reads only what it shows takes as long whatever the tables hold."""
    smallest, largest = entries[0]["pages"], entries[-1]["pages"]
    return {
        name: {
            "p95_ms": {f"{e['scale']:g}": e["pages"][name]["p95_ms"] for e in entries},
            "ratio": round(largest[name]["p95_ms"] / smallest[name]["p95_ms"], 2),
        }
        for name in smallest
    }


def flatness_print(flat: dict[str, dict], entries: list[dict]) -> None:
    scales = list(next(iter(flat.values()))["p95_ms"])
    print(
        f"\nWarm p95 ms by scale; flat when the largest scale's is at most {FLAT}x the smallest's"
    )
    print(f"{'page':<16} " + " ".join(f"{'s' + s:>9}" for s in scales) + "  ratio  result")
    for name, f in flat.items():
        verdict = "pass" if f["ratio"] <= FLAT else "FAIL"
        p95 = " ".join(f"{f['p95_ms'][s]:>9}" for s in scales)
        print(f"{name:<16} {p95} {f['ratio']:>5.2f}x  {verdict}")
    # A busy machine, not the data, may be what differs between two scales' runs.
    loads = " ".join(f"{e['machine']['load_average'][0]:>9}" for e in entries)
    print(f"{'(load average)':<16} {loads}")


def output_write(entries: list[dict], flat: dict | None = None) -> None:
    document: dict = {"scales": entries}
    if flat:
        document["flatness"] = {"limit": FLAT, "pages": flat}
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(document, indent=2))
    print(f"\nFigures written to {OUTPUT.relative_to(ROOT)}")


def scales_parse(text: str) -> list[float]:
    return sorted(float(part) for part in text.split(","))


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the data (scale 1)")
    parser.add_argument("--scale", type=float, default=10.0,
                        help="100,000 reports and 20 domains a unit: 10 (default) is 1 M "
                             "reports, 100 is 10 M over 200 tenants")  # fmt: skip
    parser.add_argument("--scales", type=scales_parse,
                        help="several scales, comma-separated, each in its own database, "
                             "compared at the end")  # fmt: skip
    parser.add_argument("--database", help=f"a single scale's database (default {big_tenant.DB})")
    parser.add_argument("--explain", action="store_true", help="print query plans")
    parser.add_argument("--reuse", action="store_true", help="time the data loaded last time")
    parser.add_argument("--purge", action="store_true",
                        help="last, time the purge of the oldest month (drops it)")  # fmt: skip
    parser.add_argument("--entry", type=Path, help=argparse.SUPPRESS)  # --scales' child: its JSON
    args = parser.parse_args()
    if args.scales and (args.database or args.quick):
        parser.error("--scales names its databases and sizes itself")
    return args


def main() -> None:
    args = arguments()
    if args.scales:
        entries = run_scales(args.scales, args)
        flat = flatness(entries)
        flatness_print(flat, entries)
        output_write(entries, flat)
        return
    scale = 1.0 if args.quick else args.scale
    database = args.database or big_tenant.DB
    entry = run_scale(scale, database, reuse=args.reuse, explain=args.explain, purge=args.purge)
    if args.entry:
        args.entry.write_text(json.dumps(entry))
    else:
        output_write([entry])


if __name__ == "__main__":
    main()
