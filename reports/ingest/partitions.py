"""Monthly partitions of the raw tables on PostgreSQL: reports, their policies and
failure details.

The three tables are ``PARTITION BY RANGE (day)`` (migrations 0019, 0025; a policy's and
a detail's day is its report's): a partition per month,
named ``<table>_pYYYY_MM``, and a default partition, ``<table>_default``, that catches
a day no partition covers (a report uploaded from long ago, or one dated past the
partitions made so far) so that an insert never fails for want of a partition.

* ``partitions_ensure`` (daily, from beat) makes the partitions of the current month and
  ``MONTHS_AHEAD`` months ahead, and of any month found in the default partition, whose
  rows it moves into their month's new partition: the default stays empty, so creating
  a partition never has a large default to scan.
* ``partitions_analyze`` (daily, from beat, after ``partitions_ensure``) gathers the
  partitioned tables' own statistics, which autovacuum never does (it analyzes each
  partition, not the table as a whole): joins through a partitioned table are planned
  on them, and without them on guesses.
* ``partitions_drop_before`` (from the retention purge) detaches and drops the months
  entirely older than a cut-off day: a month goes at once, however many rows it holds,
  instead of being deleted row by row. Messages that repeated a report of the month
  forget it (``duplicate_of`` has no database constraint), in the same transaction.

Each step waits at most ``LOCK_TIMEOUT_MS`` for its lock and then gives way and tries
again later: attaching or detaching a partition needs a short exclusive lock on the
table, and a statement waiting for that lock would hold up every insert queued behind it
(ingest goes on while a partition is dropped). ``DETACH … CONCURRENTLY`` is no help
here: PostgreSQL refuses it on a table with a default partition.

On SQLite (or any other database) the tables are plain: nothing is done here, and the
purge deletes rows.
"""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial

from django.db import OperationalError, connection, transaction

from reports.models import FailureDetail, InboundMessage, PolicyResult, Report

# Children first: a month of failure details goes before its policies, and they before
# their reports.
TABLES = (FailureDetail._meta.db_table, PolicyResult._meta.db_table, Report._meta.db_table)
MONTHS_AHEAD = 3
LOCK_TIMEOUT_MS = 500
ATTEMPTS = 10
RETRY_PAUSE_S = 0.5
_BOUND = re.compile(r"FOR VALUES FROM \('(\d{4}-\d{2}-\d{2})'\) TO \('(\d{4}-\d{2}-\d{2})'\)")


@dataclass(frozen=True, slots=True)
class Partition:
    table: str
    name: str
    start: date | None  # None: the default partition
    end: date | None


@dataclass(slots=True)
class Upkeep:
    created: list[str] = field(default_factory=list)
    moved: int = 0  # rows moved out of a default partition
    dropped: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)  # left for next time: the lock was taken


def partitioned() -> bool:
    """Whether this database partitions the raw tables (PostgreSQL only)."""
    return connection.vendor == "postgresql"


def month_start(day: date, months: int = 0) -> date:
    """The first day of ``day``'s month, ``months`` months later (or earlier)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y_%m}"


def partitions_list(table: str) -> list[Partition]:
    """The partitions of ``table``, months in order, the default partition last."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = %s::regclass
            """,
            [table],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound in rows:
        match = _BOUND.fullmatch(bound)
        if match:
            start, end = (date.fromisoformat(d) for d in match.groups())
            found.append(Partition(table, name, start, end))
        else:
            found.append(Partition(table, name, None, None))
    return sorted(found, key=lambda p: (p.start is None, p.start or date.min))


def partitions_ensure(*, today: date | None = None, ahead: int = MONTHS_AHEAD) -> Upkeep:
    """Make the partitions of this month and ``ahead`` more, and of the months whose rows
    are in a default partition (moving those rows in)."""
    upkeep = Upkeep()
    if not partitioned():
        return upkeep
    this_month = month_start(today or datetime.now(UTC).date())
    for table in TABLES:
        existing = {p.start for p in partitions_list(table) if p.start}
        wanted = {month_start(this_month, n) for n in range(ahead + 1)}
        wanted |= _default_months(table)
        for month in sorted(wanted - existing):
            moved = _locked(partial(_partition_create, table, month))
            if moved is None:
                upkeep.busy.append(partition_name(table, month))
            else:
                upkeep.created.append(partition_name(table, month))
                upkeep.moved += moved
    return upkeep


def partitions_analyze() -> list[str]:
    """ANALYZE the partitioned tables (each partition is sampled too); the tables done."""
    if not partitioned():
        return []
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {_quote(table)}")
    return list(TABLES)


def partitions_drop_before(cutoff: date) -> Upkeep:
    """Detach and drop every month partition whose days are all before ``cutoff``."""
    upkeep = Upkeep()
    if not partitioned():
        return upkeep
    for table in TABLES:
        for partition in partitions_list(table):
            if partition.end is None or partition.end > cutoff:
                continue
            if _locked(partial(_partition_drop, table, partition.name)) is None:
                upkeep.busy.append(partition.name)
            else:
                upkeep.dropped.append(partition.name)
    return upkeep


def _default_months(table: str) -> set[date]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', day)::date FROM {_quote(table + '_default')}"  # noqa: S608
        )
        return {row[0] for row in cursor.fetchall()}


def _partition_create(table: str, month: date) -> int:
    """Create ``table``'s partition of ``month``, with the rows of that month that were
    in the default partition; returns how many were moved."""
    name, default = partition_name(table, month), table + "_default"
    end = month_start(month, 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            [table],
        )
        columns = ", ".join(_quote(row[0]) for row in cursor.fetchall())
        cursor.execute(
            f"CREATE TABLE {_quote(name)} (LIKE {_quote(table)} INCLUDING DEFAULTS "
            "INCLUDING CONSTRAINTS INCLUDING STORAGE)"
        )
        cursor.execute(
            f"WITH moved AS (DELETE FROM {_quote(default)} WHERE day >= %s AND day < %s "  # noqa: S608
            f"RETURNING {columns}) INSERT INTO {_quote(name)} ({columns}) SELECT * FROM moved",
            [month, end],
        )
        moved = cursor.rowcount
        # The attach then needs no scan of the new table to prove its rows belong.
        bound = _quote(name + "_bound")
        cursor.execute(
            f"ALTER TABLE {_quote(name)} ADD CONSTRAINT {bound} CHECK (day >= %s AND day < %s)",
            [month, end],
        )
        cursor.execute(
            f"ALTER TABLE {_quote(table)} ATTACH PARTITION {_quote(name)} "
            "FOR VALUES FROM (%s) TO (%s)",
            [month, end],
        )
        cursor.execute(f"ALTER TABLE {_quote(name)} DROP CONSTRAINT {bound}")
    return moved


def _partition_drop(table: str, name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {_quote(table)} DETACH PARTITION {_quote(name)}")
        if table == Report._meta.db_table:
            # After the detach: a message stored until then that repeats one of the
            # month's reports is seen; none can be stored after it (the table is locked
            # until commit, and then the month is gone). Driven by the few messages that
            # repeat a report, through their index, not by the month's reports.
            cursor.execute(
                f"UPDATE {_quote(InboundMessage._meta.db_table)} SET duplicate_of_id = NULL "  # noqa: S608
                f"WHERE duplicate_of_id IS NOT NULL AND duplicate_of_id IN "
                f"(SELECT id FROM {_quote(name)})"
            )
        cursor.execute(f"DROP TABLE {_quote(name)}")
    return 0


def _locked(step: Callable[[], int]) -> int | None:
    """Run ``step`` in a transaction (a savepoint inside one) waiting at most
    ``LOCK_TIMEOUT_MS`` for each lock; on a timeout, pause and try again, up to
    ``ATTEMPTS`` times. None: the lock could not be had."""
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(RETRY_PAUSE_S)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('lock_timeout')")
                (before,) = cursor.fetchone()
                cursor.execute(
                    "SELECT set_config('lock_timeout', %s, true)", [f"{LOCK_TIMEOUT_MS}ms"]
                )
                result = step()
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])
                return result
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != "55P03":  # lock_not_available
                raise
    return None


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)
