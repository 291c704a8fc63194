"""Dashboard benchmark: page times on a large tenant, p50 and p95.

``python bench/dashboard.py [--quick] [--explain]`` recreates the PostgreSQL database
``tlsrpt_bench_dash`` and loads one tenant with 200 verified domains and two years of
reports (1,000,000 reports, 10,000,000 failure details; ``--quick``: a tenth) with COPY,
builds the daily rollups from them in SQL, then requests through Django's test client,
logged in as the owner:

* the tenant overview (30 days, every domain);
* a domain dashboard for 90 days (a different domain each time);
* the report list filtered by domain and "has failures";
* the overview and a domain dashboard for all the years the rollups hold (2019 on):
  long ranges read the rollups, summed and bucketed in the database.

Targets on 2 cores: dashboard p95 <= 100 ms, overview <= 150 ms, list <= 100 ms; over
all years: overview <= 600 ms, dashboard <= 200 ms.
``--explain`` prints the plans of the dashboard's and the list's queries.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Django is set up by main(), after the environment is set
    from django.db.backends.utils import CursorWrapper
    from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB = "tlsrpt_bench_dash"
ENV = {
    "DJANGO_SETTINGS_MODULE": "tlsrpt_saas.settings",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
    "REDIS_URL": "redis://127.0.0.1:6379/13",
    "SECRET_KEY": "bench",
    "DNS_NAMESERVERS": "127.0.0.1",
    "DNS_PORT": "9",
    "LOG_LEVEL": "WARNING",
}
TARGETS_MS = {"dashboard": 100.0, "overview": 150.0, "list": 100.0,
              "overview-years": 600.0, "dashboard-years": 200.0}  # fmt: skip
DOMAINS = 200
DAYS = 730
LAST_DAY = date(2026, 11, 28)
ORGS = ["Google Inc.", "Microsoft Corporation", "Mail.Ru", "Yahoo Inc."]
RESULTS = ["certificate-expired", "starttls-not-supported", "validation-failure",
           "certificate-host-mismatch", "sts-policy-fetch-error"]  # fmt: skip
OUTPUT = ROOT / "var" / "bench" / "dashboard.json"
GZ_EMPTY = bytes.fromhex("1f8b08000000000000ff030000000000000000")  # gzip of b""


def prepare() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {DB}")
    env = {**os.environ, **ENV}
    for args in (["migrate", "--noinput", "-v", "0"],
                 ["collectstatic", "--noinput", "-v", "0"],
                 ["createtenant", "big", "--owner", "owner@big.example"]):  # fmt: skip
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    os.environ.update(ENV)
    import django

    django.setup()


def load(reports: int, details_per_policy: int) -> dict:
    from django.db import connection
    from django.utils import timezone as dj_tz
    from django_scopes import scopes_disabled

    from accounts.models import Tenant
    from domains.models import Domain

    with scopes_disabled():
        tenant = Tenant.objects.get(slug="big")
        Domain.objects.bulk_create(
            Domain(tenant=tenant, name=f"d{i:03}.example.com", verified_at=dj_tz.now(),
                   mx_hosts=[f"mx{j}.d{i:03}.example.com" for j in range(2)])
            for i in range(DOMAINS)
        )  # fmt: skip
        domain_ids = list(Domain.objects.order_by("pk").values_list("pk", flat=True))
    rng = random.Random(8460)
    start = time.perf_counter()
    cursor = connection.cursor().cursor
    first_day = LAST_DAY - timedelta(days=DAYS - 1)
    report_cols = ("id, tenant_id, organization, report_id, start, \"end\", day, contact_info, "
                   "raw_json_gz, tls_report_domain, tls_report_submitter, subject_report_id, "
                   "from_address, email_message_id, dkim_result, dkim_domain, successful, "
                   "failed, created_at")  # fmt: skip
    failed_of: list[int] = []
    days_of: list[date] = []
    now = datetime.now(UTC)
    with cursor.copy(f"COPY reports_report ({report_cols}) FROM STDIN") as copy:
        for i in range(reports):
            day = first_day + timedelta(days=(i * DAYS) // reports)
            begin = datetime(day.year, day.month, day.day, tzinfo=UTC)
            failed = rng.randrange(0, 30) if rng.random() < 0.6 else 0
            failed_of.append(failed)
            days_of.append(day)
            copy.write_row((
                i + 1, tenant.pk, ORGS[i % 4], f"{begin:%Y-%m-%d}_r{i}", begin,
                begin + timedelta(seconds=86399), day, "", GZ_EMPTY, "", "", "", "", "", "",
                "", rng.randrange(100, 5000), failed, now,
            ))  # fmt: skip
    policy_cols = ("id, tenant_id, report_id, domain_id, policy_type, policy_domain, "
                   "policy_strings, mx_hosts, successful, failed, counted, day")  # fmt: skip
    with cursor.copy(f"COPY reports_policyresult ({policy_cols}) FROM STDIN") as copy:
        for i in range(reports):
            d = i % DOMAINS
            copy.write_row((
                i + 1, tenant.pk, i + 1, domain_ids[d], "sts" if i % 5 else "tlsa",
                f"d{d:03}.example.com", "[]", "[]", 1000, failed_of[i], True, days_of[i],
            ))  # fmt: skip
    detail_cols = ("tenant_id, policy_id, result_type, sending_mta_ip, receiving_mx_hostname, "
                   "receiving_mx_helo, receiving_ip, failed_session_count, "
                   "additional_information, failure_reason_code")  # fmt: skip
    with cursor.copy(f"COPY reports_failuredetail ({detail_cols}) FROM STDIN") as copy:
        for i in range(reports):
            d = i % DOMAINS
            for k in range(details_per_policy):
                copy.write_row((
                    tenant.pk, i + 1, RESULTS[(i + k) % 5], f"209.85.{k}.{i % 250}",
                    f"mx{k % 2}.d{d:03}.example.com", "", "192.0.2.25", 1 + k, "", "",
                ))  # fmt: skip
    cursor.execute("SELECT setval('reports_report_id_seq', %s)", [reports])
    cursor.execute("SELECT setval('reports_policyresult_id_seq', %s)", [reports])
    loaded = time.perf_counter() - start
    _rollups(cursor, tenant.pk)
    cursor.execute("VACUUM ANALYZE")
    return {"tenant": tenant.pk, "load_s": round(loaded, 1),
            "total_s": round(time.perf_counter() - start, 1)}  # fmt: skip


def _rollups(cursor: "CursorWrapper", tenant_id: int) -> None:
    """The rollups ingest would have built, computed from the loaded rows in SQL."""
    cursor.execute(
        """
        INSERT INTO reports_dailystat (tenant_id, domain_id, day, organization, policy_type,
            successful, failed, counted_successful, counted_failed, reports)
        SELECT %s, p.domain_id, r.day, r.organization, p.policy_type, sum(p.successful),
            sum(p.failed), sum(p.successful), sum(p.failed), count(*)
        FROM reports_policyresult p JOIN reports_report r ON r.id = p.report_id
        GROUP BY p.domain_id, r.day, r.organization, p.policy_type
        """,
        [tenant_id],
    )
    cursor.execute(
        """
        INSERT INTO reports_dailyfailure (tenant_id, domain_id, day, policy_type, result_type,
            receiving_mx, organization, count, counted)
        SELECT %s, p.domain_id, r.day, p.policy_type, f.result_type, f.receiving_mx_hostname,
            r.organization, sum(f.failed_session_count), sum(f.failed_session_count)
        FROM reports_failuredetail f JOIN reports_policyresult p ON p.id = f.policy_id
        JOIN reports_report r ON r.id = p.report_id
        GROUP BY p.domain_id, r.day, p.policy_type, f.result_type, f.receiving_mx_hostname,
            r.organization
        """,
        [tenant_id],
    )


def timings(client: "Client", urls: list[str]) -> dict:
    times = []
    for url in urls:
        begin = time.perf_counter()
        response = client.get(url)
        times.append(1000 * (time.perf_counter() - begin))
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(p95, 1)}


def explain(client: "Client", pages: dict[str, list[str]]) -> None:
    """The plans of each page's two slowest queries, as the page really runs them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for name, urls in pages.items():
        with CaptureQueriesContext(connection) as captured:
            client.get(urls[0])
        slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:2]
        for query in slowest:
            if not query["sql"].lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + query["sql"])
                print(f"\n--- {name}: {query['sql'][:160]}...")
                for (line,) in cursor.fetchall():
                    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the data")
    parser.add_argument("--explain", action="store_true", help="print query plans")
    parser.add_argument("--reuse", action="store_true", help="time the data loaded last time")
    args = parser.parse_args()
    reports = 100_000 if args.quick else 1_000_000
    if args.reuse:
        os.environ.update(ENV)
        import django

        django.setup()
        from django_scopes import scopes_disabled

        from reports.models import Report

        with scopes_disabled():
            reports, loaded = Report.objects.count(), {"reused": True}
    else:
        prepare()
        print(f"Loading {reports:,} reports and {10 * reports:,} failure details...", flush=True)
        loaded = load(reports, 10)
        print(f"Loaded in {loaded['load_s']} s (with rollups and ANALYZE {loaded['total_s']} s)")

    from django.test import Client
    from django_scopes import scopes_disabled

    from accounts.models import User
    from domains.models import Domain

    with scopes_disabled():
        ids = list(Domain.objects.order_by("pk").values_list("pk", flat=True))
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(email="owner@big.example"))
    window = f"from={LAST_DAY - timedelta(days=89)}&to={LAST_DAY}"
    month = f"from={LAST_DAY - timedelta(days=29)}&to={LAST_DAY}"
    pages = {
        "overview": [f"/t/big/?{month}"] * 20,
        "dashboard": [f"/t/big/domains/{ids[i * 7 % len(ids)]}/dashboard/?{window}"
                      for i in range(40)],
        "list": [f"/t/big/reports/?domain={ids[i * 11 % len(ids)]}&failures=yes"
                 for i in range(40)],
        "overview-years": [f"/t/big/?from=2019-01-01&to={LAST_DAY}"] * 10,
        "dashboard-years": [f"/t/big/domains/{ids[i * 7 % len(ids)]}/dashboard/"
                            f"?from=2019-01-01&to={LAST_DAY}" for i in range(20)],
    }  # fmt: skip
    for urls in pages.values():  # warm-up: templates compiled, connections open
        timings(client, urls[:3])
    results = {name: timings(client, urls) for name, urls in pages.items()}

    print(f"\nPages on {reports:,} reports, {10 * reports:,} failure details, {DOMAINS} domains")
    print(f"{'page':<16} {'p50 ms':>8} {'p95 ms':>8} {'target':>8} {'ratio':>6}  result")
    for name, r in results.items():
        target = TARGETS_MS[name]
        ratio = target / r["p95_ms"]
        verdict = "pass" if r["p95_ms"] <= target else "FAIL"
        print(f"{name:<16} {r['p50_ms']:>8} {r['p95_ms']:>8} {target:>8} {ratio:>5.2f}x  {verdict}")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps({"reports": reports, "load": loaded, "pages": results}, indent=2))
    print(f"\nFigures written to {OUTPUT.relative_to(ROOT)}")
    if args.explain:
        explain(client, pages)


if __name__ == "__main__":
    main()
