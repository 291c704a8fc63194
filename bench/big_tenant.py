"""The large tenant the dashboard and API benchmarks time: its database, loaded by COPY.

``prepare`` recreates a PostgreSQL database (``tlsrpt_bench_dash`` unless told another)
with the tenant "big" and its owner; ``load`` fills it with two years of reports, their
policies and failure details by COPY, five reports of 2,000 failure details each on the
last days (the report page's large case), and the daily rollups ingest would have built,
computed in SQL. ``sizes`` says how large the tables came out; ``purge_month`` times the
retention purge of the oldest month while another connection goes on storing.
"""

import gzip
import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Django is set up by prepare() or setup(), after the environment is set
    from django.db.backends.utils import CursorWrapper

ROOT = Path(__file__).resolve().parent.parent

DB = "tlsrpt_bench_dash"
ENV = {
    "DJANGO_SETTINGS_MODULE": "tlsrpt_saas.settings",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
    "REDIS_URL": "redis://127.0.0.1:6379/13",
    "SECRET_KEY": "bench",
    "DNS_NAMESERVERS": "127.0.0.1",
    "DNS_PORT": "9",
    "LOG_LEVEL": "WARNING",
    # The API is timed a hundred requests a minute with one key: its limit is not measured.
    "API_RATE_LIMIT": "1000000/min",
}
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
GZ_EMPTY = bytes.fromhex("1f8b08000000000000ff030000000000000000")  # gzip of b""
# Large reports: on the timed tenant's first domain, one a day on the last days.
LARGE_REPORTS = 5
LARGE_DETAILS = 2_000
LARGE_PREFIX = "large-"  # their report ids, by which a reused database finds them

REPORT_COLUMNS = ("id, tenant_id, organization, report_id, start, \"end\", day, contact_info, "
                  "raw_json_gz, tls_report_domain, tls_report_submitter, subject_report_id, "
                  "from_address, email_message_id, dkim_result, dkim_domain, successful, "
                  "failed, created_at, is_test")  # fmt: skip
POLICY_COLUMNS = ("id, tenant_id, report_id, domain_id, policy_type, policy_domain, "
                  "policy_strings, mx_hosts, successful, failed, counted, day")  # fmt: skip
DETAIL_COLUMNS = ("tenant_id, policy_id, result_type, sending_mta_ip, receiving_mx_hostname, "
                  "receiving_mx_helo, receiving_ip, failed_session_count, "
                  "additional_information, failure_reason_code, day")  # fmt: skip


def environment(database: str = DB) -> dict[str, str]:
    """``ENV`` pointed at ``database``."""
    return {**ENV, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}"}


def prepare(database: str = DB) -> None:
    """Recreate ``database`` with the schema and the tenant "big", then set Django up on it."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {database}")
    env = {**os.environ, **environment(database)}
    for args in (["migrate", "--noinput", "-v", "0"],
                 ["collectstatic", "--noinput", "-v", "0"],
                 ["createtenant", "big", "--owner", "owner@big.example"]):  # fmt: skip
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    setup(database)


def setup(database: str = DB) -> None:
    """Set Django up on ``database`` as it is."""
    os.environ.update(environment(database))
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
    failed_of: list[int] = []
    days_of: list[date] = []
    now = datetime.now(UTC)
    with cursor.copy(f"COPY reports_report ({REPORT_COLUMNS}) FROM STDIN") as copy:
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
    with cursor.copy(f"COPY reports_policyresult ({POLICY_COLUMNS}) FROM STDIN") as copy:
        for i in range(reports):
            d = i % domains
            copy.write_row((
                i + 1, tenant_of[d], i + 1, domain_ids[d], "sts" if i % 5 else "tlsa",
                f"d{d:03}.example.com", "[]", "[]", 1000, failed_of[i], True, days_of[i],
            ))  # fmt: skip
    with cursor.copy(f"COPY reports_failuredetail ({DETAIL_COLUMNS}) FROM STDIN") as copy:
        for i in range(reports):
            d = i % domains
            # Ten sending IPs a domain, whatever the scale: each scale's domain then has
            # as many sending-IP rollup rows (with i % 250, a domain of the 10 M scale had
            # five times as many as one of the 100 M scale, whose i % 250 is d % 250).
            for k in range(details_per_policy):
                copy.write_row((
                    tenant_of[d], i + 1, RESULTS[(i + k) % 5], f"209.85.{k}.{d % 250}",
                    f"mx{k % 2}.d{d:03}.example.com", "", "192.0.2.25", 1 + k, "",
                    REASONS[(i + k) % 5], days_of[i],
                ))  # fmt: skip
    # Before the rollups, so that they count these reports as ingest would have.
    _large_reports_copy(cursor, first_id=reports + 1, tenant_id=tenant.pk,
                        domain_id=domain_ids[0], domain_name="d000.example.com")  # fmt: skip
    _sequences_set(cursor, reports + LARGE_REPORTS)
    loaded = time.perf_counter() - start
    # The partitioned tables' own statistics, which autovacuum never gathers (only each
    # partition's): without them the rollups' joins are planned on guesses (at 100 M, a
    # sort of 10^14 rows estimated, 30 minutes and more for one rollup).
    cursor.execute("ANALYZE reports_report, reports_policyresult, reports_failuredetail")
    # The rollups' GROUP BY over every loaded row: memory enough to sort without spilling
    # to thousands of temporary files (only for the load; the timed pages get the default).
    cursor.execute("SET work_mem = '512MB'")
    _rollups(cursor)
    cursor.execute("RESET work_mem")
    cursor.execute("SET maintenance_work_mem = '1GB'")
    cursor.execute("VACUUM ANALYZE")
    cursor.execute("RESET maintenance_work_mem")
    return {"tenant": tenant.pk, "load_s": round(loaded, 1),
            "total_s": round(time.perf_counter() - start, 1)}  # fmt: skip


def _sequences_set(cursor: "CursorWrapper", last_id: int) -> None:
    """Reports and policies were given their ids: the next ones made come after them."""
    for table in ("reports_report", "reports_policyresult"):
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, last_id])


def _large_details(domain_name: str) -> list[dict]:
    """One large report's failure details as RFC 8460 writes them."""
    details = []
    for n in range(LARGE_DETAILS):
        detail = {
            "result-type": RESULTS[n % 5],
            "sending-mta-ip": f"209.85.{n // 250}.{n % 250}",
            "receiving-mx-hostname": f"mx{n % 2}.{domain_name}",
            "receiving-ip": "192.0.2.25",
            "failed-session-count": 1 + n % 40,
        }
        if REASONS[n % 5]:
            detail["failure-reason-code"] = REASONS[n % 5]
        details.append(detail)
    return details


def _large_report_json(report_id: str, organization: str, day: date, domain_name: str,
                       successful: int, details: list[dict]) -> bytes:  # fmt: skip
    """The report's stored JSON (gzip), which its page shows the beginning of."""
    report = {
        "organization-name": organization,
        "date-range": {"start-datetime": f"{day}T00:00:00Z", "end-datetime": f"{day}T23:59:59Z"},
        "contact-info": "",
        "report-id": report_id,
        "policies": [{
            "policy": {"policy-type": "sts", "policy-string": [], "policy-domain": domain_name},
            "summary": {
                "total-successful-session-count": successful,
                "total-failure-session-count": sum(d["failed-session-count"] for d in details),
            },
            "failure-details": details,
        }],
    }  # fmt: skip
    return gzip.compress(json.dumps(report, separators=(",", ":")).encode(), mtime=0)


def _large_reports_copy(cursor: "CursorWrapper", *, first_id: int, tenant_id: int,
                        domain_id: int, domain_name: str) -> list[int]:  # fmt: skip
    """``LARGE_REPORTS`` reports of one policy with ``LARGE_DETAILS`` failure details each,
    one a day on the last days, with ids from ``first_id`` on (reports and policies)."""
    details = _large_details(domain_name)
    failed = sum(d["failed-session-count"] for d in details)
    successful = 5000
    ids = list(range(first_id, first_id + LARGE_REPORTS))
    days = [LAST_DAY - timedelta(days=n) for n in range(LARGE_REPORTS)]
    now = datetime.now(UTC)
    with cursor.copy(f"COPY reports_report ({REPORT_COLUMNS}) FROM STDIN") as copy:
        for n, (pk, day) in enumerate(zip(ids, days, strict=True)):
            report_id = f"{LARGE_PREFIX}{day}-{n}"
            raw = _large_report_json(report_id, ORGS[n % 4], day, domain_name, successful, details)
            begin = datetime(day.year, day.month, day.day, tzinfo=UTC)
            copy.write_row((
                pk, tenant_id, ORGS[n % 4], report_id, begin, begin + timedelta(seconds=86399),
                day, "", raw, "", "", "", "", "", "", "", successful, failed, now, False,
            ))  # fmt: skip
    with cursor.copy(f"COPY reports_policyresult ({POLICY_COLUMNS}) FROM STDIN") as copy:
        for pk, day in zip(ids, days, strict=True):
            copy.write_row((pk, tenant_id, pk, domain_id, "sts", domain_name, "[]", "[]",
                            successful, failed, True, day))  # fmt: skip
    with cursor.copy(f"COPY reports_failuredetail ({DETAIL_COLUMNS}) FROM STDIN") as copy:
        for pk, day in zip(ids, days, strict=True):
            for d in details:
                copy.write_row((
                    tenant_id, pk, d["result-type"], d["sending-mta-ip"],
                    d["receiving-mx-hostname"], "", d["receiving-ip"],
                    d["failed-session-count"], "", d.get("failure-reason-code", ""), day,
                ))  # fmt: skip
    return ids


def large_reports() -> list[int]:
    """The ids of the large reports, added first if the database was loaded without them
    (by an older loader: their rollups are then missing, a few days of one domain)."""
    from django.db import connection
    from django.db.models import Max
    from django_scopes import scopes_disabled

    from domains.models import Domain
    from reports.models import PolicyResult, Report

    with scopes_disabled():
        found = Report.objects.filter(
            tenant__slug="big", day__gte=LAST_DAY - timedelta(days=LARGE_REPORTS),
            report_id__startswith=LARGE_PREFIX,
        ).order_by("pk")  # fmt: skip
        if ids := list(found.values_list("pk", flat=True)):
            return ids
        domain = Domain.objects.filter(tenant__slug="big").order_by("pk").first()
        assert domain, "the tenant big has no domain"
        # Past every id taken: the purge benchmark stores policies of its own.
        last_id = max(Report.objects.aggregate(last=Max("pk"))["last"] or 0,
                      PolicyResult.objects.aggregate(last=Max("pk"))["last"] or 0)  # fmt: skip
    with connection.cursor() as cursor:
        ids = _large_reports_copy(cursor.cursor, first_id=last_id + 1, tenant_id=domain.tenant_id,
                                  domain_id=domain.pk, domain_name=domain.name)  # fmt: skip
        _sequences_set(cursor, ids[-1])
        cursor.execute("ANALYZE reports_report, reports_policyresult, reports_failuredetail")
    return ids


def _rollups(cursor: "CursorWrapper") -> None:
    """The rollups ingest would have built, computed from the loaded rows in SQL.

    Each written in the order ingest writes it: day by day, each report's rows together. A
    GROUP BY alone leaves them in hash order, a domain's rows of two years on about as many
    table pages as rows, which real ingest never does."""
    cursor.execute(
        """
        INSERT INTO reports_dailystat (tenant_id, domain_id, day, organization, policy_type,
            successful, failed, counted_successful, counted_failed, reports)
        SELECT p.tenant_id, p.domain_id, r.day, r.organization, p.policy_type,
            sum(p.successful), sum(p.failed), sum(p.successful), sum(p.failed), count(*)
        FROM reports_policyresult p JOIN reports_report r ON r.id = p.report_id
        GROUP BY p.tenant_id, p.domain_id, r.day, r.organization, p.policy_type
        ORDER BY r.day, min(p.report_id)
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
        ORDER BY r.day, min(p.report_id)
        """
    )
    per_kind = """
        SELECT p.tenant_id, p.domain_id, '{kind}' AS kind, p.day, {column} AS value,
            sum(f.failed_session_count) AS n, min(p.report_id) AS first_report
        FROM reports_failuredetail f JOIN reports_policyresult p
            ON p.id = f.policy_id AND p.day = f.day
        WHERE {column} <> ''
        GROUP BY p.tenant_id, p.domain_id, p.day, {column}
    """
    cursor.execute(
        f"""
        INSERT INTO reports_dailybreakdown (tenant_id, domain_id, kind, day, value, count,
            counted)
        SELECT tenant_id, domain_id, kind, day, value, n, n
        FROM ({per_kind.format(kind="ip", column="f.sending_mta_ip")}
              UNION ALL {per_kind.format(kind="reason", column="f.failure_reason_code")}) rows
        ORDER BY day, first_report, domain_id, kind, value
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
    """The retention purge of the oldest month still held, timed, while another connection
    goes on storing reports, each with a policy of 10 failure details (as ingest would):
    how many it stored meanwhile and its slowest one show whether the purge held it up. A
    database reused after a purge has its next month purged."""
    import threading

    import psycopg
    from django.conf import settings
    from django.db import connection

    from reports.ingest.partitions import month_start
    from reports.ingest.retention import purge_expired

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(day) FROM reports_report")
        (first_day,) = cursor.fetchone() or (None,)
    first_day = first_day or LAST_DAY - timedelta(days=DAYS - 1)
    cutoff = month_start(first_day, 1)
    now = datetime(cutoff.year, cutoff.month, cutoff.day, 12, tzinfo=UTC)
    now += timedelta(days=settings.REPORT_RETENTION_DAYS)
    database = connection.settings_dict["NAME"]
    done = threading.Event()
    stored: list[float] = []

    def store() -> None:
        dsn = f"postgresql://postgres@127.0.0.1:5432/{database}"
        with psycopg.connect(dsn, autocommit=True) as c:
            # The day's first report: one of the many, not a large one the report page times.
            first = c.execute(
                "SELECT tenant_id, domain_id, report_id FROM reports_policyresult "
                "WHERE day = %s ORDER BY id LIMIT 1",
                [LAST_DAY],
            ).fetchone()
            assert first, "no report on the last day"
            tenant_id, domain_id, _ = first
            while not done.is_set():
                begin = time.perf_counter()
                with c.transaction():
                    written = c.execute(
                        f"INSERT INTO reports_report ({REPORT_COLUMNS.removeprefix('id, ')}) "  # noqa: S608
                        "VALUES (%s, 'Purge Writer', %s, %s, %s, %s, '', %s, '', '', '', '', "
                        "'', '', '', 1, 1, now(), false) RETURNING id",
                        [tenant_id, f"purge-writer-{uuid.uuid4()}", LAST_DAY, LAST_DAY,
                         LAST_DAY, GZ_EMPTY],
                    ).fetchone()  # fmt: skip
                    assert written is not None
                    report = written[0]
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


PURGE_TARGET_S = 10.0  # a month at 100 M (issue 19)


def purge_print(purge: dict) -> None:
    verdict = "pass" if purge["seconds"] <= PURGE_TARGET_S else "FAIL"
    ratio = PURGE_TARGET_S / max(purge["seconds"], 0.001)
    print(f"\nPurge of {purge['month']}: {purge['seconds']} s (target {PURGE_TARGET_S:g} s: "
          f"{verdict}, {ratio:.2f}x), "
          f"{purge['partitions_dropped']} partitions dropped, {purge['reports_deleted']:,} "
          f"reports deleted; meanwhile {purge['stored_during']} reports (a policy, 10 failure "
          f"details) stored, the slowest in {purge['slowest_store_ms']} ms")  # fmt: skip
