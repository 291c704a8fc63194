"""Monthly partitions of reports, policies and failure details (PostgreSQL), the purge by
whole months, and the migrations that convert a database holding rows."""

import json
import threading
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Sum
from django.utils import timezone
from django_scopes import scopes_disabled

from reports.ingest import partitions
from reports.ingest.partitions import month_start, partition_name, partitions_ensure
from reports.ingest.retention import purge_expired
from reports.ingest.tasks import ensure_partitions
from reports.models import (
    BreakdownKind,
    DailyBreakdown,
    DailyStat,
    FailureDetail,
    PolicyResult,
    Report,
    Status,
)
from tests.conftest import wait_until
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import ingest
from tests.reports.mail import report_json

PG_ONLY = pytest.mark.postgresql_only(reason="declarative partitioning is PostgreSQL's")
TABLES = (FailureDetail._meta.db_table, PolicyResult._meta.db_table, Report._meta.db_table)


def _report(tenant, day: str) -> Report:
    message, _ = ingest(tenant, json.dumps(report_json(domain="acme.example", day=day)).encode())
    with scopes_disabled():
        return Report.objects.get(inbound=message)


def _sums(rows, key: str) -> dict[str, int]:
    return dict(rows.values_list(key).annotate(n=Sum("failed_session_count")).values_list(key, "n"))


def _homes(report: Report) -> set[str]:
    """The partitions the report, its policies and failure details are stored in."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM reports_report WHERE id = %s "
            "UNION SELECT tableoid::regclass::text FROM reports_policyresult WHERE report_id = %s "
            "UNION SELECT f.tableoid::regclass::text FROM reports_failuredetail f "
            "JOIN reports_policyresult p ON p.id = f.policy_id WHERE p.report_id = %s",
            [report.pk, report.pk, report.pk],
        )
        return {row[0] for row in cursor.fetchall()}


def _tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE 'reports_%%_p%%'")
        return {row[0] for row in cursor.fetchall()}


def _children(report: Report) -> tuple[int, int]:
    with scopes_disabled():
        policies = PolicyResult.objects.filter(report_id=report.pk)
        return policies.count(), FailureDetail.objects.filter(policy__in=policies).count()


@PG_ONLY
@pytest.mark.django_db
def test_the_beat_job_makes_this_month_and_the_next_ones() -> None:
    this_month = month_start(timezone.now().date())
    ahead = [month_start(this_month, n) for n in range(partitions.MONTHS_AHEAD + 1)]
    last = ahead[-1]
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f'DROP TABLE IF EXISTS "{partition_name(table, last)}"')
    assert partition_name(TABLES[0], last) not in _tables()

    done = ensure_partitions()

    assert {partition_name(t, m) for t in TABLES for m in ahead} <= _tables()
    assert partition_name(TABLES[0], last) in done["created"]
    again = ensure_partitions()
    assert again["created"] == []


@PG_ONLY
@pytest.mark.django_db
def test_the_beat_job_gathers_the_partitioned_tables_own_statistics() -> None:
    """Autovacuum analyzes partitions, never a partitioned table as a whole: the job does."""
    acme = make_tenant("acme")
    make_domain(acme, "acme.example")
    _report(acme, (timezone.now().date() - timedelta(days=1)).isoformat())

    def analyzed() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT tablename FROM pg_stats WHERE inherited AND tablename = ANY(%s)",
                [list(TABLES)],
            )
            return {row[0] for row in cursor.fetchall()}

    with connection.cursor() as cursor:  # as a table never analyzed as a whole
        for table in TABLES:
            cursor.execute(
                "DELETE FROM pg_statistic WHERE starelid = %s::regclass AND stainherit", [table]
            )
    assert analyzed() == set()

    done = ensure_partitions()

    assert set(done["analyzed"]) == set(TABLES)
    assert analyzed() == set(TABLES)


@PG_ONLY
@pytest.mark.django_db
def test_ingest_writes_into_the_partition_of_the_reports_month() -> None:
    acme = make_tenant("acme")
    make_domain(acme, "acme.example")
    day = timezone.now().date() - timedelta(days=1)
    report = _report(acme, day.isoformat())
    month = month_start(day)
    assert _homes(report) == {partition_name(t, month) for t in TABLES}
    with scopes_disabled():
        assert {f.day for f in FailureDetail.objects.filter(policy__report=report)} == {day}


@PG_ONLY
@pytest.mark.django_db
def test_a_day_without_a_partition_lands_in_default_and_moves_when_its_month_is_made() -> None:
    acme = make_tenant("acme")
    make_domain(acme, "acme.example")
    report = _report(acme, "2016-03-10")
    assert _homes(report) == {f"{t}_default" for t in TABLES}
    with scopes_disabled():
        ids = set(FailureDetail.objects.filter(policy__report=report).values_list("pk", "day"))

    done = partitions_ensure()

    month = date(2016, 3, 1)
    assert {partition_name(t, month) for t in TABLES} <= set(done.created)
    assert done.moved == 3  # the report, its policy, its failure detail
    assert _homes(report) == {partition_name(t, month) for t in TABLES}
    with scopes_disabled():
        moved = set(FailureDetail.objects.filter(policy__report=report).values_list("pk", "day"))
    assert moved == ids
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f'SELECT count(*) FROM "{table}_default"')  # noqa: S608
            assert cursor.fetchone() == (0,)


@pytest.mark.django_db
def test_the_purge_drops_whole_months_and_deletes_rows_of_the_boundary_month(settings) -> None:
    """On PostgreSQL March goes as partitions; in April, the month the cut-off falls in,
    rows before the cut-off are deleted and later ones kept. On SQLite rows go."""
    settings.REPORT_RETENTION_DAYS = 100
    acme = make_tenant("acme")
    make_domain(acme, "acme.example")
    partitions_ensure(today=date(2020, 3, 1), ahead=1)
    march = _report(acme, "2020-03-15")
    early_april, late_april = _report(acme, "2020-04-05"), _report(acme, "2020-04-25")
    cutoff = datetime(2020, 4, 10, 12, tzinfo=UTC)
    if connection.vendor == "postgresql":  # as at the end of ingest's own transaction
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    purged = purge_expired(now=cutoff + timedelta(days=100))

    # On PostgreSQL March's report went with its month: only early April's is deleted.
    assert purged.reports == (1 if connection.vendor == "postgresql" else 2)
    for gone in (march, early_april):
        assert _children(gone) == (0, 0)
        with scopes_disabled():
            assert not Report.objects.filter(pk=gone.pk).exists()
    assert _children(late_april) == (1, 1)
    with scopes_disabled():  # the daily figures stay
        assert DailyStat.objects.filter(day=date(2020, 3, 15)).exists()
    if connection.vendor == "postgresql":
        assert purged.partitions >= 3  # March's three, and any older month left by another test
        assert not {partition_name(t, date(2020, 3, 1)) for t in TABLES} & _tables()
        assert _homes(late_april) == {partition_name(t, date(2020, 4, 1)) for t in TABLES}


def _connect(*, autocommit: bool = False) -> psycopg.Connection:
    """A connection of its own to the test database, beside Django's."""
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432,
        password=db["PASSWORD"] or None, autocommit=autocommit,
    )  # fmt: skip


@PG_ONLY
@pytest.mark.django_db(transaction=True)
def test_ingest_goes_on_while_a_month_waits_to_be_detached(settings, monkeypatch) -> None:
    """A reader holds the table; the detach waiting for it gives way after its lock
    timeout, so a report stored meanwhile is not queued behind it for the reader's time."""
    settings.REPORT_RETENTION_DAYS = 100
    monkeypatch.setattr(partitions, "ATTEMPTS", 600)
    monkeypatch.setattr(partitions, "LOCK_TIMEOUT_MS", 1000)
    monkeypatch.setattr(partitions, "RETRY_PAUSE_S", 0.05)
    acme = make_tenant("acme")
    make_domain(acme, "acme.example")
    march = date(2020, 3, 1)
    reader = watcher = None
    try:
        partitions_ensure(today=march, ahead=0)
        old = _report(acme, "2020-03-15")
        reader, watcher = _connect(), _connect(autocommit=True)
        reader.execute("SELECT count(*) FROM reports_failuredetail")  # a transaction left open
        outcome: dict = {}

        def purge() -> None:
            try:
                outcome["purged"] = purge_expired(now=datetime(2020, 7, 20, tzinfo=UTC))
            finally:
                connection.close()

        purger = threading.Thread(target=purge)
        purger.start()

        def detach_waits() -> bool:
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'ALTER TABLE%%DETACH PARTITION%%'"
            ).fetchone()
            return bool(row and row[0])

        wait_until(detach_waits)
        with connection.cursor() as cursor:  # fails rather than hangs if it were queued
            cursor.execute("SET statement_timeout = '20s'")
        try:
            new = _report(acme, (timezone.now().date() - timedelta(days=1)).isoformat())
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout")
        assert reader.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert _children(new) == (1, 1)  # stored while the reader still held the table
        reader.rollback()
        purger.join(timeout=120)

        assert outcome["purged"].partitions >= 3
        assert not {partition_name(t, march) for t in TABLES} & _tables()
        assert _children(old) == (0, 0)
        assert _children(new) == (1, 1)
    finally:
        for opened in (reader, watcher):
            if opened is not None:
                opened.close()
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f'DROP TABLE IF EXISTS "{partition_name(table, march)}"')


@pytest.mark.django_db(transaction=True)
def test_the_migration_converts_a_database_keeping_every_row_and_id() -> None:
    """Back to 0018 (plain tables, no day on failure details), a row added there, and
    forward again: every report, policy and failure detail is kept with its id, details
    take their policy's day, and on PostgreSQL the tables are partitioned by month (0019,
    0025); 0020 fills the sending-IP and reason-code rollups from the details kept. A
    report sent again is still a duplicate."""
    acme = make_tenant("acme")
    make_domain(acme, "acme.example")
    reports = [_report(acme, day) for day in ("2019-05-02", "2019-06-30", "2019-07-01")]
    executor = MigrationExecutor(connection)
    before = [("reports", "0018_mx_tls_alerts")]
    latest = [key for key in executor.loader.graph.leaf_nodes() if key[0] == "reports"]
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before[0]).apps
        policy = old.get_model("reports", "PolicyResult").objects.create(
            tenant_id=acme.pk, report_id=reports[0].pk, policy_type="tlsa", successful=1,
            failed=1, day=date(2019, 5, 2),
        )  # fmt: skip
        old.get_model("reports", "FailureDetail").objects.create(
            tenant_id=acme.pk, policy_id=policy.pk, result_type="validation-failure",
            failed_session_count=1,
        )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, report_id, day, start FROM reports_report ORDER BY id")
            stored = cursor.fetchall()
            cursor.execute("SELECT id, report_id, day FROM reports_policyresult ORDER BY id")
            policies = cursor.fetchall()
            cursor.execute("SELECT id, policy_id FROM reports_failuredetail ORDER BY id")
            details = cursor.fetchall()
        assert len(policies) == 4 and len(details) == 4
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, report_id, day, start FROM reports_report ORDER BY id")
        assert cursor.fetchall() == stored
        cursor.execute("SELECT id, report_id, day FROM reports_policyresult ORDER BY id")
        assert cursor.fetchall() == policies
        cursor.execute("SELECT id, policy_id, day FROM reports_failuredetail ORDER BY id")
        day_of = {pk: day for pk, _, day in policies}
        assert cursor.fetchall() == [(pk, p, day_of[p]) for pk, p in details]
    if connection.vendor == "postgresql":
        assert _homes(reports[1]) == {partition_name(t, date(2019, 6, 1)) for t in TABLES}
        assert _homes(reports[2]) == {partition_name(t, date(2019, 7, 1)) for t in TABLES}
    with scopes_disabled():  # the three reports' details (the added policy has no domain)
        sums = {
            kind: dict(rows.values_list("value").annotate(n=Sum("count")).values_list("value", "n"))
            for kind, rows in (
                (k, DailyBreakdown.objects.filter(kind=k, tenant=acme)) for k in BreakdownKind
            )
        }
        raw = FailureDetail.objects.filter(policy__domain__isnull=False)
        assert sums[BreakdownKind.SENDING_IP] == _sums(raw, "sending_mta_ip")
        assert sums[BreakdownKind.REASON] == _sums(
            raw.exclude(failure_reason_code=""), "failure_reason_code"
        )
        assert sum(sums[BreakdownKind.SENDING_IP].values()) == 3 * 2  # two failed a report
    with scopes_disabled():
        sent = Report.objects.get(pk=reports[1].pk).raw_json
    again, _ = ingest(acme, sent)
    assert (again.status, again.duplicate_of_id) == (Status.DUPLICATE, reports[1].pk)
    new = _report(acme, "2019-07-02")  # ids go on from the last one
    with scopes_disabled():
        assert new.pk > max(pk for pk, *_ in stored)
        assert PolicyResult.objects.get(report=new).pk > max(pk for pk, *_ in policies)
        assert FailureDetail.objects.get(policy__report=new).pk > max(pk for pk, _ in details)
    if connection.vendor == "postgresql":  # the months made for this test's days go
        with connection.cursor() as cursor:
            for table in TABLES:
                for month in (5, 6, 7):
                    name = partition_name(table, date(2019, month, 1))
                    cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
