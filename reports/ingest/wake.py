"""Waking the ingest drain: one ``drain_inbound`` task waits in the queue at a time.

The database is the backlog (messages in ``received``); the broker carries only wake-ups.
A flag beside the queue, in the broker's Redis, says that a drain is queued and has not
started yet: a door that finds it set queues nothing, since that drain will take its
message too. The drain clears the flag as it starts, before its first claim, so a
message stored after that queues a new drain. The flag lapses after
``INGEST_WAKE_SECONDS`` in case its task was lost (a flushed broker); the sweeps take
whatever is left. With another broker (the filesystem one of the no-configuration
default) every wake queues a drain.
"""

from functools import cache

import redis
from django.conf import settings

FLAG = "tlsrpt:ingest:drain-queued"


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def _broker_redis() -> redis.Redis | None:
    from tlsrpt_saas.celery import app

    url = app.conf.broker_url or ""
    return _client(url) if url.startswith(("redis://", "rediss://", "unix://")) else None


def ingest_wake() -> bool:
    """Make sure a drain is queued; True if this call queued it. Raises if it cannot."""
    from reports.tasks import drain_inbound

    client = _broker_redis()
    if client is not None and not client.set(FLAG, 1, nx=True, ex=settings.INGEST_WAKE_SECONDS):
        return False
    try:
        drain_inbound.delay()
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
