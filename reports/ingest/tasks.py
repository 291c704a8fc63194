"""Celery tasks of ingest: thin wrappers that call one service of ``reports.ingest`` each.

Task names stay as they were before the move into this package (``reports.tasks.*``,
``reports.retention_tasks.*``): the beat schedule, the queue routes and any task already
queued name them."""

from dataclasses import asdict
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from reports.ingest.messages import backlog_drain, message_run
from reports.ingest.partitions import partitions_analyze, partitions_ensure
from reports.ingest.retention import purge_expired
from reports.ingest.wake import (
    drain_started,
    ingest_wake,
    ingest_wake_stale,
    ingest_wake_unqueued,
)
from reports.models import InboundMessage, Status

_RETRYING: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 6,
}


@shared_task(name="reports.tasks.drain_inbound", **_RETRYING)
def drain_inbound() -> int:
    """Process the waiting inbound messages in batches (the doors wake it; idempotent)."""
    drain_started()
    try:
        drained = backlog_drain(seconds=settings.INGEST_DRAIN_SECONDS, wake=ingest_wake)
    except SoftTimeLimitExceeded:
        ingest_wake()  # the batch is released; the next drain runs it message by message
        return 0
    if drained.held_elsewhere:
        drain_inbound.apply_async(countdown=settings.INGEST_WAKE_SECONDS)
    return drained.claimed


@shared_task(name="reports.tasks.process_inbound", bind=True, **_RETRYING)
def process_inbound(self: Task, message_id: int) -> str:
    """Find, parse and store the reports of one inbound message (idempotent)."""
    try:
        status = message_run(message_id=message_id).status
    except InboundMessage.DoesNotExist:
        return "missing"
    except SoftTimeLimitExceeded:
        return Status.FAILED  # recorded as processing_timeout by reports.ingest
    retries_left = self.max_retries is None or self.request.retries < self.max_retries
    if status == Status.RECEIVED and retries_left:
        # Held elsewhere: done there, or free again once a dead worker's session ends.
        raise self.retry(countdown=settings.INGEST_WAKE_SECONDS)
    return status


@shared_task(name="reports.tasks.requeue_stale_inbound")
def requeue_stale_inbound(older_than_minutes: int = 30) -> int:
    """Wake a drain for messages still waiting after a while (lost wake-up, broker flushed)."""
    return ingest_wake_stale(older_than_minutes=older_than_minutes)


@shared_task(name="reports.tasks.queue_unqueued_inbound")
def queue_unqueued_inbound() -> int:
    """Wake a drain for the messages stored while the broker was down."""
    return ingest_wake_unqueued()


@shared_task(name="reports.retention_tasks.purge_expired_rows")
def purge_expired_rows() -> dict[str, int | bool]:
    """Delete what is past its retention; if time ran out, go on in a minute."""
    purged = purge_expired(seconds=settings.RETENTION_PURGE_SECONDS)
    if purged.more:
        purge_expired_rows.apply_async(countdown=60)
    return asdict(purged)


@shared_task(name="reports.retention_tasks.ensure_partitions")
def ensure_partitions() -> dict[str, Any]:
    """Make the raw tables' monthly partitions ahead of time and gather the partitioned
    tables' statistics (PostgreSQL; else nothing)."""
    done = asdict(partitions_ensure())
    done["analyzed"] = partitions_analyze()
    return done
