"""Daily rollups: add a report's numbers to ``DailyStat``, ``DailyFailure`` and
``DailyBreakdown``.

Plain ``INSERT ... ON CONFLICT DO UPDATE`` increments (PostgreSQL and SQLite), rows
sorted by key so that concurrent transactions lock them in the same order. A sum past
2^63 - 1 is a ``DataError`` on both. On PostgreSQL the rows go in as one array per column
(``unnest``): a large report's thousands of sending-IP rows as ``VALUES`` cost psycopg
more to turn into a query (it scans every placeholder) than PostgreSQL to store. Past
``_COPY_FROM`` rows they go by COPY into a temporary table first, which psycopg writes in
C where it quotes arrays in Python (a 2,000-IP report: 23 -> 16 ms).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from django.db import DataError, connection
from django.db.backends.utils import CursorWrapper

from reports.models import BreakdownKind, DailyBreakdown, DailyFailure, DailyStat
from reports.tlsrpt import FailureDetail as ParsedFailure

StatKey = tuple[int, date, str, str]  # domain, day, organization, policy type
FailureKey = tuple[int, date, str, str, str, str]  # domain, day, type, result, MX, org
BreakdownKey = tuple[int, str, date, str]  # domain, kind, day, value


class RollupDelta:
    """What reports add to the rollups, accumulated in memory first."""

    def __init__(self) -> None:
        # successful, failed, counted successful, counted failed, reports
        self.stats: dict[StatKey, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        self.failures: dict[FailureKey, list[int]] = defaultdict(lambda: [0, 0])
        self.breakdowns: dict[BreakdownKey, list[int]] = defaultdict(lambda: [0, 0])
        # Each key's tenant (a domain belongs to one tenant).
        self.tenants: dict[int, int] = {}

    def add_policy(
        self,
        tenant_id: int,
        key: StatKey,
        successful: int,
        failed: int,
        counted: bool,
        *,
        new_report: bool,
    ) -> None:
        """Add a policy's sessions; ``new_report`` when its report is not yet in ``key``."""
        self.tenants[key[0]] = tenant_id
        row = self.stats[key]
        row[0] += successful
        row[1] += failed
        if counted:
            row[2] += successful
            row[3] += failed
        row[4] += new_report

    def add_detail(
        self, tenant_id: int, where: tuple[int, date, str, str], d: ParsedFailure, *, counted: bool
    ) -> None:
        """Add a failure detail of a policy ``where`` = (domain, day, policy type,
        organization) to ``DailyFailure`` and ``DailyBreakdown``."""
        domain, day, policy_type, organization = where
        self.tenants[domain] = tenant_id
        count = d.failed_session_count
        mx = (d.receiving_mx_hostname or "")[:253]
        _add(self.failures[domain, day, policy_type, d.result_type[:64], mx, organization],
             count, counted)  # fmt: skip
        ip = (d.sending_mta_ip or "")[:64]  # as the detail's own column
        _add(self.breakdowns[domain, BreakdownKind.SENDING_IP, day, ip], count, counted)
        if d.failure_reason_code:
            code = d.failure_reason_code[:255]
            _add(self.breakdowns[domain, BreakdownKind.REASON, day, code], count, counted)


def _add(row: list[int], count: int, counted: bool) -> None:
    row[0] += count
    if counted:
        row[1] += count


@dataclass(frozen=True)
class _Rollup:
    """A rollup table's upsert: rows are its tenant, its key and the numbers added to it,
    in that order; a row whose key is stored adds its numbers to the stored ones."""

    table: str
    key: tuple[tuple[str, str], ...]  # (column, PostgreSQL type): the unique key
    sums: tuple[tuple[str, str], ...]  # the columns added to

    @cached_property
    def types(self) -> list[str]:
        """Each column's type, in row order (PostgreSQL's unnest of one array a column)."""
        return ["bigint", *(kind for _, kind in self.key + self.sums)]

    def sql(self, source: str) -> str:
        """The upsert of the rows ``source`` gives (``VALUES`` or a ``SELECT``)."""
        columns = ", ".join(["tenant_id", *(c for c, _ in self.key + self.sums)])
        key = ", ".join(c for c, _ in self.key)
        added = ", ".join(f"{c} = {self.table}.{c} + excluded.{c}" for c, _ in self.sums)
        # Names from model meta and this module; the values are parameters.
        return (
            f"INSERT INTO {self.table} ({columns}) {source} "
            f"ON CONFLICT ({key}) DO UPDATE SET {added}"
        )


_STATS = _Rollup(
    DailyStat._meta.db_table,
    key=(("domain_id", "bigint"), ("day", "date"), ("organization", "text"),
         ("policy_type", "text")),
    sums=(("successful", "bigint"), ("failed", "bigint"), ("counted_successful", "bigint"),
          ("counted_failed", "bigint"), ("reports", "integer")),
)  # fmt: skip
_FAILURES = _Rollup(
    DailyFailure._meta.db_table,
    key=(("domain_id", "bigint"), ("day", "date"), ("policy_type", "text"),
         ("result_type", "text"), ("receiving_mx", "text"), ("organization", "text")),
    sums=(("count", "bigint"), ("counted", "bigint")),
)  # fmt: skip
_BREAKDOWNS = _Rollup(
    DailyBreakdown._meta.db_table,
    key=(("domain_id", "bigint"), ("kind", "text"), ("day", "date"), ("value", "text")),
    sums=(("count", "bigint"), ("counted", "bigint")),
)

# Rows per statement on SQLite: one round trip for any real report, under SQLite's
# 32,766 parameters (10 a row).
_BATCH = 1000
# Rows from which PostgreSQL gets them by COPY: below, creating the temporary table (once
# a connection) and the extra statement cost more than the arrays.
_COPY_FROM = 500


def rollups_apply(*, delta: RollupDelta) -> None:
    """Add ``delta`` to the rollup tables inside the caller's transaction.

    Each key occurs once in ``delta``, so one multi-row upsert never updates a row twice.
    """
    with connection.cursor() as cursor:
        _upsert(cursor, _STATS, _rows(delta.tenants, delta.stats.items()))
        _upsert(cursor, _FAILURES, _rows(delta.tenants, delta.failures.items()))
        _upsert(cursor, _BREAKDOWNS, _rows(delta.tenants, delta.breakdowns.items()))


def _upsert(cursor: CursorWrapper, rollup: _Rollup, rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.vendor != "sqlite" and len(rows) >= _COPY_FROM:
        _upsert_copied(cursor, rollup, rows)
        return
    if connection.vendor != "sqlite":
        arrays = ", ".join(f"%s::{kind}[]" for kind in rollup.types)
        cursor.execute(
            rollup.sql(f"SELECT * FROM unnest({arrays})"),  # noqa: S608 -- our types
            [list(column) for column in zip(*rows, strict=True)],
        )
        return
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        placeholders = ", ".join(["(" + ", ".join(["%s"] * len(batch[0])) + ")"] * len(batch))
        # PostgreSQL refuses a bigint sum past 2^63 - 1; SQLite silently turns it into a
        # float. Read the sums back and refuse them the same way.
        sums = ", ".join(c for c, _ in rollup.sums)
        cursor.execute(
            rollup.sql("VALUES " + placeholders) + f" RETURNING {sums}",
            [v for row in batch for v in row],
        )
        if any(isinstance(value, float) for row in cursor.fetchall() for value in row):
            raise DataError("integer out of range in a daily rollup")


def _upsert_copied(cursor: CursorWrapper, rollup: _Rollup, rows: list[tuple]) -> None:
    """PostgreSQL: COPY the rows into a temporary table, then move them from it to the
    rollup in key order (the table is emptied by that statement, as a transaction may
    apply several reports, and at commit, which keeps it from growing). Created in the
    transaction if missing, so that it works behind a pooler that hands each transaction
    another server connection."""
    stage = f"{rollup.table}_added"
    names = ["tenant_id", *(c for c, _ in rollup.key + rollup.sums)]
    columns = ", ".join(f"{n} {kind}" for n, kind in zip(names, rollup.types, strict=True))
    key = ", ".join(c for c, _ in rollup.key)
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ({columns}) ON COMMIT DELETE ROWS"
    )
    # psycopg's own cursor: its errors (a sum past 64 bits) become Django's as the rest's.
    with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {stage} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    # Names from model meta and this module.
    moved = f"WITH added AS (DELETE FROM {stage} RETURNING *) "  # noqa: S608
    cursor.execute(moved + rollup.sql(f"SELECT * FROM added ORDER BY {key}"))  # noqa: S608


def _rows(tenants: dict[int, int], items: Iterable[tuple[tuple, list[int]]]) -> list[tuple]:
    return [(tenants[key[0]], *key, *values) for key, values in sorted(items)]
