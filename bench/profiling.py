"""Where the time of one message goes, in this process, without Celery.

``breakdown`` times ``reports.ingest.messages.backlog_drain`` (what the ``drain_inbound`` task
runs: claims, batches) over stored messages and, apart, the parse alone
(``envelope_extract``): the rest is the database work. Set against a worker's figure, the
difference is what Celery adds. ``hot_functions`` is cProfile's view of the drain,
``queries`` the SQL one message costs, grouped by statement
and timed as the worker waits for it (a more precise clock than Django's
``CaptureQueriesContext``, which rounds each query to the millisecond).
"""

import cProfile
import io
import pstats
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable

from django.db import connections

from bench.e2e_db import messages_store, tables_clear
from reports.ingest.messages import backlog_drain, envelope_extract


def _drain(ids: list[int]) -> None:
    drained = backlog_drain(seconds=3600, wake=lambda: None)
    assert drained.claimed == len(ids), drained


def _timed_runs(messages: list[bytes]) -> float:
    tables_clear()
    ids, _ = messages_store(messages)
    start = time.perf_counter()
    _drain(ids)
    return time.perf_counter() - start


def breakdown(messages: list[bytes]) -> dict:
    """Milliseconds per message: all of the drain, its parse, and the rest."""
    total = _timed_runs(messages)
    start = time.perf_counter()
    for data in messages:
        envelope_extract(data)
    parse = time.perf_counter() - start
    n = len(messages)
    return {
        "messages": n,
        "drain_ms": round(1000 * total / n, 3),
        "parse_ms": round(1000 * parse / n, 3),
        "database_and_rest_ms": round(1000 * (total - parse) / n, 3),
    }


def connection_cost(count: int = 20) -> dict:
    """What opening a PostgreSQL connection costs, and whether Celery workers keep theirs.

    Celery's Django fixup closes every connection before and after each task, whatever
    ``CONN_MAX_AGE`` says, unless the setting ``CELERY_DB_REUSE_MAX`` is set.
    """
    from tlsrpt_saas.celery import app

    db = connections["default"]
    start = time.perf_counter()
    for _ in range(count):
        db.close()
        db.ensure_connection()
    return {
        "connect_ms": round(1000 * (time.perf_counter() - start) / count, 3),
        "celery_db_reuse_max": app.conf.get("CELERY_DB_REUSE_MAX"),
    }


def hot_functions(messages: list[bytes], top: int = 25) -> str:
    tables_clear()
    ids, _ = messages_store(messages)
    profiler = cProfile.Profile()
    profiler.enable()
    _drain(ids)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


_LITERALS = re.compile(r"'[^']*'|\b\d+\b")
_SAVEPOINT = re.compile(r'"s\d+_x\d+"')


def _shape(sql: str, many: bool) -> str:
    """A statement with its values taken out, short enough for a table."""
    sql = _SAVEPOINT.sub("sp", " ".join(sql.split()))
    sql = _LITERALS.sub("?", sql).split(" VALUES")[0].split(" WHERE")[0]
    return sql[:100] + (" [executemany]" if many else "")


class _Timings:
    """Wall time per statement shape, as this process sees it (round trip included)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def add(self, shape: str, seconds: float) -> None:
        self.counts[shape] += 1
        self.seconds[shape] += seconds

    def __call__(
        self, execute: Callable[..., object], sql: str, params: object, many: bool, context: dict
    ) -> object:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.add(_shape(sql, many), time.perf_counter() - start)

    def commit(self, commit: Callable[[], None]) -> Callable[[], None]:
        def timed() -> None:
            start = time.perf_counter()
            try:
                commit()
            finally:
                self.add("COMMIT", time.perf_counter() - start)

        return timed


def queries(messages: list[bytes]) -> dict:
    """Statements per message by shape, and the time each took as the worker waits for it."""
    tables_clear()
    ids, _ = messages_store(messages)
    timings = _Timings()
    db = connections["default"]
    db.commit = timings.commit(db.commit)  # type: ignore[method-assign]  # timed, as a probe
    try:
        with db.execute_wrapper(timings):
            start = time.perf_counter()
            _drain(ids)
            total = time.perf_counter() - start
    finally:
        del db.commit
    n = len(ids)
    sql_s = sum(timings.seconds.values())
    return {
        "statements_per_message": round(sum(timings.counts.values()) / n, 2),
        "drain_ms": round(1000 * total / n, 3),
        "sql_ms": round(1000 * sql_s / n, 3),
        "by_statement": [
            {
                "sql": shape,
                "per_message": round(count / n, 2),
                "ms_per_message": round(1000 * timings.seconds[shape] / n, 3),
            }
            for shape, count in timings.counts.most_common()
        ],
    }
