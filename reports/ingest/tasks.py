"""Celery tasks of ingest: thin wrappers that load, scope and call ``reports.ingest``.

Task names stay as they were before the move into this package (``reports.tasks.*``,
``reports.retention_tasks.*``): the beat schedule, the queue routes and any task already
queued name them."""

import logging
from dataclasses import asdict
from datetime import timedelta

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django_scopes import scopes_disabled

from reports.ingest.messages import backlog_drain, message_run
from reports.ingest.retention import purge_expired
from reports.ingest.wake import drain_started, ingest_wake
from reports.models import InboundMessage, Status

logger = logging.getLogger(__name__)


_RETRYING = {
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
    if status == Status.RECEIVED and self.request.retries < self.max_retries:
        # Held elsewhere: done there, or free again once a dead worker's session ends.
        raise self.retry(countdown=settings.INGEST_WAKE_SECONDS)
    return status


@shared_task(name="reports.tasks.requeue_stale_inbound")
def requeue_stale_inbound(older_than_minutes: int = 30) -> int:
    """Wake a drain for messages still waiting after a while (lost wake-up, broker flushed)."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    with scopes_disabled():
        stale = InboundMessage.objects.filter(status=Status.RECEIVED, received_at__lt=cutoff)
        count = stale.count()
    if count:
        ingest_wake()
        logger.info("%d inbound messages waited over %d minutes", count, older_than_minutes)
    return count


@shared_task(name="reports.tasks.queue_unqueued_inbound")
def queue_unqueued_inbound() -> int:
    """Wake a drain for the messages stored while the broker was down."""
    with scopes_disabled():
        unqueued = InboundMessage.objects.filter(
            status=Status.RECEIVED, queue_failed_at__isnull=False
        )
        ids = list(unqueued.values_list("pk", flat=True)[:1000])
    if ids:
        ingest_wake()
        with scopes_disabled():
            InboundMessage.objects.filter(pk__in=ids).update(queue_failed_at=None)
    return len(ids)


@shared_task(name="reports.retention_tasks.purge_expired_rows")
def purge_expired_rows() -> dict[str, int | bool]:
    """Delete what is past its retention; if time ran out, go on in a minute."""
    purged = purge_expired(seconds=settings.RETENTION_PURGE_SECONDS)
    if purged.more:
        purge_expired_rows.apply_async(countdown=60)
    return asdict(purged)
