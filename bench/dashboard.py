"""Dashboard benchmark: page times on a large tenant, p50 and p95.

``python bench/dashboard.py [--scale N] [--quick] [--explain]`` recreates the PostgreSQL
database ``tlsrpt_bench_dash`` and loads one tenant with 200 verified domains and two
years of reports (1,000,000 reports, 10,000,000 failure details; ``--quick``: a tenth)
with COPY, builds the daily rollups from them in SQL, then requests through Django's
test client, logged in as the owner:

* the tenant overview (30 days, every domain);
* a domain dashboard for 90 days (a different domain each time);
* the report list filtered by domain and "has failures";
* the overview and a domain dashboard for all the years the rollups hold (2019 on):
  long ranges read the rollups, summed and bucketed in the database.

``--scale N`` sizes the data in units of 100,000 reports (each of 10 failure details)
and 20 domains: 10, the default, is the above; 100 is 10,000,000 reports and 100,000,000
failure details over 2,000 domains of 200 tenants, the timed tenant ("big") keeping its
200 domains, so that its pages are read from tables ten times as large; a fraction (0.1)
makes a smoke test. It prints the load time and each table's and its indexes' sizes (a
partitioned table's summed over its partitions, which are made for every loaded month).

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
DOMAINS = 200  # of the timed tenant
REPORTS_PER_SCALE = 100_000
DOMAINS_PER_SCALE = 20
TENANTS_PER_SCALE = 2  # past scale 10: 200 tenants at 100
SIZED = ("reports_report", "reports_policyresult", "reports_failuredetail",
         "reports_dailystat", "reports_dailyfailure", "reports_dailybreakdown")  # fmt: skip
DAYS = 730
LAST_DAY = date(2026, 11, 28)
ORGS = ["Google Inc.", "Microsoft Corporation", "Mail.Ru", "Yahoo Inc."]
RESULTS = ["certificate-expired", "starttls-not-supported", "validation-failure",
           "certificate-host-mismatch", "sts-policy-fetch-error"]  # fmt: skip
# Reason codes as reporters write them (OpenSSL names and others); one in five has none.
REASONS = ["X509_V_ERR_CERT_HAS_EXPIRED", "", "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
           "X509_V_ERR_HOSTNAME_MISMATCH", "sts_webpki_invalid"]  # fmt: skip
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


def load(reports: int, details_per_policy: int, domains: int = DOMAINS, tenants: int = 1) -> dict:
    """Load ``reports`` over ``domains`` domains: the first ``DOMAINS`` are the timed
    tenant's, the others are dealt out to the ``tenants - 1`` other tenants."""
    from django.db import connection
    from django.utils import timezone as dj_tz
    from django_scopes import scopes_disabled

    from accounts.models import Tenant
    from domains.models import Domain
    from reports.ingest.partitions import month_start, partitions_ensure

    first_day = LAST_DAY - timedelta(days=DAYS - 1)
    months = (LAST_DAY.year - first_day.year) * 12 + LAST_DAY.month - first_day.month
    partitions_ensure(today=month_start(first_day), ahead=months)  # nothing off PostgreSQL
    with scopes_disabled():
        tenant = Tenant.objects.get(slug="big")
        owners = [tenant] * min(domains, DOMAINS)
        others = Tenant.objects.bulk_create(
            Tenant(name=f"Tenant {n}", slug=f"t{n:04}") for n in range(1, tenants)
        )
        owners += [others[n % len(others)] if others else tenant
                   for n in range(max(0, domains - DOMAINS))]  # fmt: skip
        Domain.objects.bulk_create(
            Domain(tenant=owner, name=f"d{i:03}.example.com", verified_at=dj_tz.now(),
                   mx_hosts=[f"mx{j}.d{i:03}.example.com" for j in range(2)])
            for i, owner in enumerate(owners)
        )  # fmt: skip
        domain_ids = list(Domain.objects.order_by("pk").values_list("pk", flat=True))
    tenant_of = [owner.pk for owner in owners]
    domains = len(domain_ids)
    rng = random.Random(8460)
    start = time.perf_counter()
    cursor = connection.cursor().cursor
    report_cols = ("id, tenant_id, organization, report_id, start, \"end\", day, contact_info, "
                   "raw_json_gz, tls_report_domain, tls_report_submitter, subject_report_id, "
                   "from_address, email_message_id, dkim_result, dkim_domain, successful, "
                   "failed, created_at, is_test")  # fmt: skip
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
                i + 1, tenant_of[i % domains], ORGS[i % 4], f"{begin:%Y-%m-%d}_r{i}", begin,
                begin + timedelta(seconds=86399), day, "", GZ_EMPTY, "", "", "", "", "", "",
                "", rng.randrange(100, 5000), failed, now, False,
            ))  # fmt: skip
    policy_cols = ("id, tenant_id, report_id, domain_id, policy_type, policy_domain, "
                   "policy_strings, mx_hosts, successful, failed, counted, day")  # fmt: skip
    with cursor.copy(f"COPY reports_policyresult ({policy_cols}) FROM STDIN") as copy:
        for i in range(reports):
            d = i % domains
            copy.write_row((
                i + 1, tenant_of[d], i + 1, domain_ids[d], "sts" if i % 5 else "tlsa",
                f"d{d:03}.example.com", "[]", "[]", 1000, failed_of[i], True, days_of[i],
            ))  # fmt: skip
    detail_cols = ("tenant_id, policy_id, result_type, sending_mta_ip, receiving_mx_hostname, "
                   "receiving_mx_helo, receiving_ip, failed_session_count, "
                   "additional_information, failure_reason_code, day")  # fmt: skip
    with cursor.copy(f"COPY reports_failuredetail ({detail_cols}) FROM STDIN") as copy:
        for i in range(reports):
            d = i % domains
            for k in range(details_per_policy):
                copy.write_row((
                    tenant_of[d], i + 1, RESULTS[(i + k) % 5], f"209.85.{k}.{i % 250}",
                    f"mx{k % 2}.d{d:03}.example.com", "", "192.0.2.25", 1 + k, "",
                    REASONS[(i + k) % 5], days_of[i],
                ))  # fmt: skip
    for table in ("reports_report", "reports_policyresult"):
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, reports])
    loaded = time.perf_counter() - start
    _rollups(cursor)
    cursor.execute("VACUUM ANALYZE")
    return {"tenant": tenant.pk, "load_s": round(loaded, 1),
            "total_s": round(time.perf_counter() - start, 1)}  # fmt: skip


def _rollups(cursor: "CursorWrapper") -> None:
    """The rollups ingest would have built, computed from the loaded rows in SQL."""
    cursor.execute(
        """
        INSERT INTO reports_dailystat (tenant_id, domain_id, day, organization, policy_type,
            successful, failed, counted_successful, counted_failed, reports)
        SELECT p.tenant_id, p.domain_id, r.day, r.organization, p.policy_type,
            sum(p.successful), sum(p.failed), sum(p.successful), sum(p.failed), count(*)
        FROM reports_policyresult p JOIN reports_report r ON r.id = p.report_id
        GROUP BY p.tenant_id, p.domain_id, r.day, r.organization, p.policy_type
        """
    )
    cursor.execute(
        """
        INSERT INTO reports_dailyfailure (tenant_id, domain_id, day, policy_type, result_type,
            receiving_mx, organization, count, counted)
        SELECT p.tenant_id, p.domain_id, r.day, p.policy_type, f.result_type,
            f.receiving_mx_hostname, r.organization, sum(f.failed_session_count),
            sum(f.failed_session_count)
        FROM reports_failuredetail f JOIN reports_policyresult p ON p.id = f.policy_id
        JOIN reports_report r ON r.id = p.report_id
        GROUP BY p.tenant_id, p.domain_id, r.day, p.policy_type, f.result_type,
            f.receiving_mx_hostname, r.organization
        """
    )
    for kind, column in (("ip", "f.sending_mta_ip"), ("reason", "f.failure_reason_code")):
        cursor.execute(
            f"""
            INSERT INTO reports_dailybreakdown (tenant_id, domain_id, kind, day, value, count,
                counted)
            SELECT p.tenant_id, p.domain_id, '{kind}', p.day, {column},
                sum(f.failed_session_count), sum(f.failed_session_count)
            FROM reports_failuredetail f JOIN reports_policyresult p
                ON p.id = f.policy_id AND p.day = f.day
            WHERE {column} <> ''
            GROUP BY p.tenant_id, p.domain_id, p.day, {column}
            """  # noqa: S608 -- the bench's own constants
        )


def sizes() -> list[dict]:
    """Rows, table and index sizes of the large tables (partitions summed)."""
    from django.db import connection

    found = []
    with connection.cursor() as cursor:
        for table in SIZED:
            cursor.execute(
                """
                WITH t AS (SELECT relid FROM pg_partition_tree(%s::regclass)
                           UNION SELECT %s::regclass)
                SELECT coalesce(sum(c.reltuples)
                        FILTER (WHERE c.reltuples > 0 AND c.relkind <> 'p'), 0),
                    sum(pg_table_size(t.relid)), sum(pg_indexes_size(t.relid)), count(*) - 1
                FROM t JOIN pg_class c ON c.oid = t.relid
                """,
                [table, table],
            )
            rows, data, indexes, parts = cursor.fetchone()
            found.append({"table": table, "rows": int(rows), "table_mb": round(data / 2**20),
                          "index_mb": round(indexes / 2**20), "partitions": parts})  # fmt: skip
    return found


def sizes_print(found: list[dict]) -> None:
    print(f"\n{'table':<24} {'rows':>13} {'table MB':>9} {'index MB':>9} {'partitions':>10}")
    for t in found:
        print(f"{t['table']:<24} {t['rows']:>13,} {t['table_mb']:>9,} {t['index_mb']:>9,} "
              f"{t['partitions']:>10}")  # fmt: skip


def purge_month() -> dict:
    """The retention purge of the oldest loaded month, timed, while another connection
    goes on storing policies with 10 failure details each (as ingest would): how many it
    stored meanwhile and its slowest one show whether the purge held it up."""
    import threading

    import psycopg
    from django.conf import settings

    from reports.ingest.partitions import month_start
    from reports.ingest.retention import purge_expired

    first_day = LAST_DAY - timedelta(days=DAYS - 1)
    cutoff = month_start(first_day, 1)
    now = datetime(cutoff.year, cutoff.month, cutoff.day, 12, tzinfo=UTC)
    now += timedelta(days=settings.REPORT_RETENTION_DAYS)
    done = threading.Event()
    stored: list[float] = []

    def store() -> None:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{DB}", autocommit=True) as c:
            latest = c.execute(
                "SELECT tenant_id, domain_id, report_id FROM reports_policyresult "
                "WHERE day = %s ORDER BY id DESC LIMIT 1",
                [LAST_DAY],
            ).fetchone()
            assert latest, "no report on the last day"
            tenant_id, domain_id, report = latest
            while not done.is_set():
                begin = time.perf_counter()
                with c.transaction():
                    row = c.execute(
                        "INSERT INTO reports_policyresult (tenant_id, report_id, domain_id, "
                        "policy_type, policy_domain, policy_strings, mx_hosts, successful, "
                        "failed, counted, day) VALUES (%s, %s, %s, 'sts', '', '[]', '[]', 1, 1, "
                        "true, %s) RETURNING id",
                        [tenant_id, report, domain_id, LAST_DAY],
                    ).fetchone()
                    policy = row[0] if row else None
                    c.cursor().executemany(
                        "INSERT INTO reports_failuredetail (tenant_id, policy_id, result_type, "
                        "sending_mta_ip, receiving_mx_hostname, receiving_mx_helo, receiving_ip, "
                        "failed_session_count, additional_information, failure_reason_code, day) "
                        "VALUES (%s, %s, 'certificate-expired', '', '', '', '', 1, '', '', %s)",
                        [(tenant_id, policy, LAST_DAY)] * 10,
                    )
                stored.append(time.perf_counter() - begin)

    storing = threading.Thread(target=store)
    storing.start()
    time.sleep(1)
    before = len(stored)
    begin = time.perf_counter()
    purged = purge_expired(seconds=600, now=now)
    seconds = time.perf_counter() - begin
    during = stored[before:]
    done.set()
    storing.join()
    return {"month": f"{first_day:%Y-%m}", "seconds": round(seconds, 2),
            "partitions_dropped": purged.partitions, "reports_deleted": purged.reports,
            "stored_during": len(during),
            "slowest_store_ms": round(1000 * max(during, default=0.0), 1)}  # fmt: skip


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
    parser.add_argument("--quick", action="store_true", help="a tenth of the data (scale 1)")
    parser.add_argument("--scale", type=float, default=10.0,
                        help="100,000 reports and 20 domains a unit: 10 (default) is 1 M "
                             "reports, 100 is 10 M over 200 tenants")  # fmt: skip
    parser.add_argument("--explain", action="store_true", help="print query plans")
    parser.add_argument("--reuse", action="store_true", help="time the data loaded last time")
    parser.add_argument("--purge", action="store_true",
                        help="last, time the purge of the oldest month (drops it)")  # fmt: skip
    args = parser.parse_args()
    scale = 1.0 if args.quick else args.scale
    reports = round(scale * REPORTS_PER_SCALE)
    domains = max(1, round(scale * DOMAINS_PER_SCALE))
    tenants = max(1, round(scale * TENANTS_PER_SCALE)) if domains > DOMAINS else 1
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
        print(f"Loading {reports:,} reports and {10 * reports:,} failure details over "
              f"{domains:,} domains of {tenants} tenants...", flush=True)  # fmt: skip
        loaded = load(reports, 10, domains, tenants)
        print(f"Loaded in {loaded['load_s']} s (with rollups and ANALYZE {loaded['total_s']} s)")
    table_sizes = sizes()
    sizes_print(table_sizes)

    from django.test import Client
    from django_scopes import scopes_disabled

    from accounts.models import User
    from domains.models import Domain

    with scopes_disabled():
        ids = list(
            Domain.objects.filter(tenant__slug="big").order_by("pk").values_list("pk", flat=True)
        )
    # Pages are served as gunicorn's workers serve them: the application loaded and
    # warmed by its WSGI module, which then freezes what it loaded out of the collector.
    import tlsrpt_saas.wsgi  # noqa: F401

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

    print(f"\nPages on {reports:,} reports, {10 * reports:,} failure details, {len(ids)} domains "
          f"of the timed tenant")  # fmt: skip
    print(f"{'page':<16} {'p50 ms':>8} {'p95 ms':>8} {'target':>8} {'ratio':>6}  result")
    for name, r in results.items():
        target = TARGETS_MS[name]
        ratio = target / r["p95_ms"]
        verdict = "pass" if r["p95_ms"] <= target else "FAIL"
        print(f"{name:<16} {r['p50_ms']:>8} {r['p95_ms']:>8} {target:>8} {ratio:>5.2f}x  {verdict}")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps({"reports": reports, "scale": scale, "load": loaded,
                                  "sizes": table_sizes, "pages": results}, indent=2))  # fmt: skip
    print(f"\nFigures written to {OUTPUT.relative_to(ROOT)}")
    if args.explain:
        explain(client, pages)
    if args.purge:
        purge = purge_month()
        print(f"\nPurge of {purge['month']}: {purge['seconds']} s, "
              f"{purge['partitions_dropped']} partitions dropped, {purge['reports_deleted']:,} "
              f"reports deleted; meanwhile {purge['stored_during']} policies of 10 failure "
              f"details stored, the slowest in {purge['slowest_store_ms']} ms")  # fmt: skip
        OUTPUT.write_text(json.dumps({**json.loads(OUTPUT.read_text()), "purge": purge}, indent=2))


if __name__ == "__main__":
    main()
