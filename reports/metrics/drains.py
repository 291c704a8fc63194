"""Drain batch sizes and durations, counted in the broker's Redis as the workers drain.

A batch is run in some Celery worker process and scraped from some web process, so the
figures cannot live in either: each batch adds itself to two histograms kept in Redis
(one hash each: the batches of each bucket and the sum of their values), written in one
round trip, and ``/metrics`` reads them whole. They survive restarts of both; only a
flushed Redis resets them (a counter reset to Prometheus). With another broker (the
filesystem one of the no-configuration default) nothing is recorded.
"""

import logging
from dataclasses import dataclass
from functools import cache

import redis

from tlsrpt_saas.celery import app

logger = logging.getLogger(__name__)

SIZE_KEY = "tlsrpt:metrics:drain:batch-size"
SECONDS_KEY = "tlsrpt:metrics:drain:batch-seconds"
SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


@dataclass(frozen=True)
class Histogram:
    buckets: list[tuple[str, float]]  # (upper bound, batches up to it), +Inf last
    count: float
    sum: float


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2)


def broker_redis() -> redis.Redis | None:
    """The broker's Redis, or None when the broker is not Redis."""
    url = app.conf.broker_url or ""
    return _client(url) if url.startswith(("redis://", "rediss://", "unix://")) else None


def _bucket(value: float, bounds: tuple[float, ...]) -> str:
    return next((_le(b) for b in bounds if value <= b), "+Inf")


def _le(bound: float) -> str:
    return str(float(bound))


def drain_batch_record(*, size: int, seconds: float) -> None:
    """Count one batch of ``size`` messages run in ``seconds``; never raises."""
    client = broker_redis()
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for key, value, bounds in ((SIZE_KEY, size, SIZE_BUCKETS),
                                   (SECONDS_KEY, seconds, SECONDS_BUCKETS)):  # fmt: skip
            pipe.hincrby(key, _bucket(value, bounds), 1)
            pipe.hincrbyfloat(key, "sum", value)
        pipe.execute()
    except redis.RedisError:
        logger.warning("Could not count a drain batch in Redis", exc_info=True)


def drain_histograms() -> tuple[Histogram, Histogram] | None:
    """(batch sizes, batch durations) as counted so far; None without a Redis broker."""
    client = broker_redis()
    if client is None:
        return None
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(SIZE_KEY)
    pipe.hgetall(SECONDS_KEY)
    sizes, seconds = pipe.execute()
    return _histogram(sizes, SIZE_BUCKETS), _histogram(seconds, SECONDS_BUCKETS)


def _histogram(raw: dict[bytes, bytes], bounds: tuple[float, ...]) -> Histogram:
    counts = {k.decode(): float(v) for k, v in raw.items()}
    running = 0.0
    buckets = []
    for le in [*map(_le, bounds), "+Inf"]:
        running += counts.get(le, 0.0)
        buckets.append((le, running))
    return Histogram(buckets, running, counts.get("sum", 0.0))
