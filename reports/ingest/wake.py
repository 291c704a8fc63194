"""Waking the ingest drain: one ``drain_inbound`` task waits in the queue at a time.

The database is the backlog (messages in ``received``); the broker carries only wake-ups.
A flag beside the queue, in the broker's Redis, says that a drain is queued and has not
started yet: a door that finds it set queues nothing, since that drain will take its
message too. The drain clears the flag as it starts, before its first claim, so a
message stored after that queues a new drain. The flag lapses after
``INGEST_WAKE_SECONDS`` in case its task was lost (a flushed broker); the sweeps take
whatever is left. With another broker (the filesystem one of the no-configuration
default) every wake queues a drain.

The drain is queued by name (``tlsrpt_saas.queueing``): the ingest tasks import this
module, and the doors that wake it must not import the tasks.
"""

import logging
from datetime import datetime, timedelta
from functools import cache

import redis
from django.conf import settings
from django.utils import timezone

from accounts.tenancy import across_tenants
from reports.models import InboundMessage, Status
from tlsrpt_saas.celery import app
from tlsrpt_saas.queueing import task_queue

logger = logging.getLogger(__name__)

FLAG = "tlsrpt:ingest:drain-queued"
DRAIN_INBOUND = "reports.tasks.drain_inbound"


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def _broker_redis() -> redis.Redis | None:
    url = app.conf.broker_url or ""
    return _client(url) if url.startswith(("redis://", "rediss://", "unix://")) else None


def ingest_wake() -> bool:
    """Make sure a drain is queued; True if this call queued it. Raises if it cannot."""
    client = _broker_redis()
    if client is not None and not client.set(FLAG, 1, nx=True, ex=settings.INGEST_WAKE_SECONDS):
        return False
    try:
        task_queue(DRAIN_INBOUND)
    except Exception:
        if client is not None:
            client.delete(FLAG)
        raise
    return True


def drain_started() -> None:
    """A drain runs: from now on a new message needs a new wake-up."""
    client = _broker_redis()
    if client is not None:
        client.delete(FLAG)


def ingest_wake_stale(*, older_than_minutes: int, now: datetime | None = None) -> int:
    """Wake a drain if messages still wait after a while (lost wake-up, broker flushed)."""
    cutoff = (now or timezone.now()) - timedelta(minutes=older_than_minutes)
    with across_tenants("sweep: counts every tenant's messages waiting too long"):
        count = InboundMessage.objects.filter(
            status=Status.RECEIVED, received_at__lt=cutoff
        ).count()
    if count:
        ingest_wake()
        logger.info("%d inbound messages waited over %d minutes", count, older_than_minutes)
    return count


def ingest_wake_unqueued(*, limit: int = 1000) -> int:
    """Wake a drain for the messages stored while the broker was down, and unmark them."""
    with across_tenants("sweep: every tenant's messages stored while the broker was down"):
        unqueued = InboundMessage.objects.filter(
            status=Status.RECEIVED, queue_failed_at__isnull=False
        )
        ids = list(unqueued.values_list("pk", flat=True)[:limit])
        if ids:
            ingest_wake()
            InboundMessage.objects.filter(pk__in=ids).update(queue_failed_at=None)
    return len(ids)
