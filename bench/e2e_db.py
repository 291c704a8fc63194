"""End to end, the Django side: store messages, release them to a worker, time, verify.

Imported only after ``e2e.prepare()`` has set Django up on the benchmark database. A run
stores every message first with the queue off (storing is the SMTP door's cost, timed on
its own), wakes processing for each message as the doors do (``reports.ingest.wake``: one
``drain_inbound`` task is queued) while the worker is not consuming, then times from the
moment the worker starts consuming until every message has left ``received``: task
delivery, claiming, parsing, rows and rollups committed.
"""

import statistics
import time

from django.db import connection
from django.db.models import Sum
from django_scopes import scopes_disabled

from accounts.models import Tenant
from bench.e2e import TENANT, Worker
from bench.messages import Expected
from reports.inbound.store import inbound_queue, inbound_store
from reports.models import (
    DailyBreakdown,
    DailyFailure,
    DailyStat,
    FailureDetail,
    InboundMessage,
    PolicyResult,
    Report,
    Status,
)
from reports.tasks import process_inbound

TABLES = [m._meta.db_table for m in (InboundMessage, Report, PolicyResult, FailureDetail)]
TABLES += [m._meta.db_table for m in (DailyStat, DailyFailure, DailyBreakdown)]
POLL_S = 0.05
FLOOR_TASKS = 1000


def tables_clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")


def messages_store(messages: list[bytes]) -> tuple[list[int], float]:
    """Store every message as the SMTP door does, with the queue off; ids and seconds."""
    with scopes_disabled():
        tenant = Tenant.objects.get(slug=TENANT)
    start = time.perf_counter()
    ids = [
        inbound_store(tenant=tenant, channel="smtp", raw=data, queue=False).pk for data in messages
    ]
    return ids, time.perf_counter() - start


def _waiting() -> int:
    with scopes_disabled():
        return InboundMessage.objects.filter(status=Status.RECEIVED).count()


def drain(worker: Worker, ids: list[int], stall: float = 60.0) -> float:
    """Wake processing for every id as the doors do, let the worker consume, and return
    seconds until none is waiting."""
    worker.consume(on=False)
    for message_id in ids:
        inbound_queue(message_id=message_id)
    start = last_change = time.perf_counter()
    worker.consume(on=True)
    waiting = len(ids)
    while waiting:
        time.sleep(POLL_S)
        now, left = time.perf_counter(), _waiting()
        if left != waiting:
            waiting, last_change = left, now
        elif now - last_change > stall:
            raise RuntimeError(f"{left} messages still waiting, none done for {stall}s")
    return time.perf_counter() - start


def missing_tasks(worker: Worker, count: int, timeout: float = 60.0) -> float:
    """Seconds for ``count`` tasks naming a message that does not exist.

    Such a task runs the claim query of ``message_run`` and returns: what is left
    is Celery's own cost per task, the floor under any end-to-end figure.
    """
    worker.consume(on=False)
    before = worker.tasks_done()
    for _ in range(count):
        process_inbound.delay(0)
    start = time.perf_counter()
    worker.consume(on=True)
    while worker.tasks_done() < before + count:
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"{count} empty tasks were not done within {timeout}s")
        time.sleep(POLL_S)
    return time.perf_counter() - start


def _database_totals() -> dict[str, int]:
    with scopes_disabled():
        stats = DailyStat.objects.aggregate(successful=Sum("successful"), failed=Sum("failed"))
        failures = DailyFailure.objects.aggregate(failed_sessions=Sum("count"))
        return {
            "processed": InboundMessage.objects.filter(status=Status.PROCESSED).count(),
            "reports": Report.objects.count(),
            "policies": PolicyResult.objects.count(),
            "details": FailureDetail.objects.count(),
            **{k: v or 0 for k, v in (stats | failures).items()},
        }


def verify(expected: Expected) -> list[str]:
    """What differs between the database and what the messages add up to; [] if right."""
    wanted = {**vars(expected), "processed": expected.reports}
    return [
        f"{name}: {got} in the database, {wanted[name]} expected"
        for name, got in _database_totals().items()
        if got != wanted[name]
    ]


def runs(worker: Worker, messages: list[bytes], expected: Expected, count: int) -> dict:
    """``count`` timed runs on a running worker; reports/s is the median's."""
    missing_tasks(worker, 4 * worker.concurrency)  # warm-up: every pool process has run a task
    floor = FLOOR_TASKS / missing_tasks(worker, FLOOR_TASKS)
    seconds, stores, errors = [], [], []
    for _ in range(count):
        tables_clear()
        ids, stored = messages_store(messages)
        stores.append(stored)
        seconds.append(drain(worker, ids))
        errors += verify(expected)
    worker.consume(on=False)
    median = statistics.median(seconds)
    return {
        "processes": worker.concurrency,
        "messages": len(messages),
        "runs_s": [round(s, 3) for s in seconds],
        "per_s": round(len(messages) / median, 1),
        "store_per_s": round(len(messages) / statistics.median(stores), 1),
        "empty_tasks_per_s": round(floor, 1),
        "errors": errors,
    }
