"""Daily rollups: add a report's numbers to ``DailyStat``, ``DailyFailure`` and
``DailyBreakdown``.

Plain ``INSERT ... ON CONFLICT DO UPDATE`` increments (PostgreSQL and SQLite), rows
sorted by key so that concurrent transactions lock them in the same order. A sum past
2^63 - 1 is a ``DataError`` on both. ``DailyStat`` and ``DailyFailure`` are summed in
memory; on PostgreSQL their rows go in as one array per column (``unnest``), as ``VALUES``
cost psycopg more to turn into a query (it scans every placeholder) than PostgreSQL to
store. ``DailyBreakdown`` (a row per sending IP: thousands for a large report) is summed
by the database from the failure details just stored, in one ``INSERT ... SELECT``: no
Python object, no second copy of every detail sent to it.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from django.db import DataError, OperationalError, connection
from django.db.backends.utils import CursorWrapper

from reports.models import (
    BreakdownKind,
    DailyBreakdown,
    DailyFailure,
    DailyStat,
    FailureDetail,
    PolicyResult,
)
from reports.tlsrpt import FailureDetail as ParsedFailure

StatKey = tuple[int, date, str, str]  # domain, day, organization, policy type
FailureKey = tuple[int, date, str, str, str, str]  # domain, day, type, result, MX, org


class RollupDelta:
    """What reports add to the rollups, accumulated in memory first."""

    def __init__(self) -> None:
        # successful, failed, counted successful, counted failed, reports
        self.stats: dict[StatKey, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        self.failures: dict[FailureKey, list[int]] = defaultdict(lambda: [0, 0])
        # Policies whose stored failure details go to DailyBreakdown, and their days.
        self.detailed: list[int] = []
        self.days: set[date] = set()
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
        organization) to ``DailyFailure``."""
        domain, day, policy_type, organization = where
        self.tenants[domain] = tenant_id
        mx = (d.receiving_mx_hostname or "")[:253]
        _add(self.failures[domain, day, policy_type, d.result_type[:64], mx, organization],
             d.failed_session_count, counted)  # fmt: skip

    def add_details_stored(self, policy_id: int, day: date) -> None:
        """Add the failure details stored for a policy of ``day`` to ``DailyBreakdown``
        (by its sending IP, and by its reason code when it has one)."""
        self.detailed.append(policy_id)
        self.days.add(day)


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
# Its rows from the stored details of some policies ({ids}), whose days lie in a range
# (which bounds the partitions read). The IP as its column (cut at 64 as ingest cuts it),
# the reason code cut at 255; a detail without one is left out of that kind.
_BREAKDOWN_ROWS = """
SELECT tenant_id, domain_id, kind, day, value, SUM(n), SUM(c) FROM (
    SELECT p.tenant_id, p.domain_id, '{ip}' AS kind, p.day, d.sending_mta_ip AS value,
           d.failed_session_count AS n,
           CASE WHEN p.counted THEN d.failed_session_count ELSE 0 END AS c
    FROM {details} d JOIN {policies} p ON p.id = d.policy_id
    WHERE {where}
    UNION ALL
    SELECT p.tenant_id, p.domain_id, '{reason}', p.day, substr(d.failure_reason_code, 1, 255),
           d.failed_session_count,
           CASE WHEN p.counted THEN d.failed_session_count ELSE 0 END
    FROM {details} d JOIN {policies} p ON p.id = d.policy_id
    WHERE {where} AND d.failure_reason_code <> ''
) AS added
GROUP BY tenant_id, domain_id, kind, day, value
ORDER BY domain_id, kind, day, value
""".format(  # noqa: S608 -- names from model meta and this module
    details=FailureDetail._meta.db_table, policies=PolicyResult._meta.db_table,
    ip=BreakdownKind.SENDING_IP.value, reason=BreakdownKind.REASON.value,
    where="d.policy_id IN ({ids}) AND d.day BETWEEN %s AND %s AND p.day BETWEEN %s AND %s",
)  # fmt: skip

# Rows per statement on SQLite: one round trip for any real report, under SQLite's
# 32,766 parameters (10 a row).
_BATCH = 1000


def rollups_apply(*, delta: RollupDelta) -> None:
    """Add ``delta`` to the rollup tables inside the caller's transaction.

    Each key occurs once in ``delta``, so one multi-row upsert never updates a row twice.
    """
    with connection.cursor() as cursor:
        _upsert(cursor, _STATS, _rows(delta.tenants, delta.stats.items()))
        _upsert(cursor, _FAILURES, _rows(delta.tenants, delta.failures.items()))
        if delta.detailed:
            _breakdowns_add(cursor, delta.detailed, min(delta.days), max(delta.days))


def _upsert(cursor: CursorWrapper, rollup: _Rollup, rows: list[tuple]) -> None:
    if not rows:
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
        _sqlite_upsert(cursor, rollup, "VALUES " + placeholders, [v for row in batch for v in row])


def _breakdowns_add(cursor: CursorWrapper, policies: list[int], first: date, last: date) -> None:
    source = _BREAKDOWN_ROWS.replace("{ids}", ", ".join(["%s"] * len(policies)))
    params: list[int | date] = [*policies, first, last, first, last] * 2
    if connection.vendor != "sqlite":
        cursor.execute(_BREAKDOWNS.sql(source), params)
        return
    try:
        _sqlite_upsert(cursor, _BREAKDOWNS, source, params)
    except OperationalError as e:
        # SQLite's SUM() refuses a total past 64 bits as an "integer overflow".
        if "integer overflow" in str(e):
            raise DataError("integer out of range in a daily rollup") from e
        raise


def _sqlite_upsert(cursor: CursorWrapper, rollup: _Rollup, source: str, params: list) -> None:
    """The upsert on SQLite. PostgreSQL refuses a bigint sum past 2^63 - 1; SQLite silently
    turns it into a float: read the sums back and refuse them the same way."""
    sums = ", ".join(c for c, _ in rollup.sums)
    cursor.execute(rollup.sql(source) + f" RETURNING {sums}", params)
    if any(isinstance(value, float) for row in cursor.fetchall() for value in row):
        raise DataError("integer out of range in a daily rollup")


def _rows(tenants: dict[int, int], items: Iterable[tuple[tuple, list[int]]]) -> list[tuple]:
    return [(tenants[key[0]], *key, *values) for key, values in sorted(items)]
