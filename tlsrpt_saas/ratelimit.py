"""Fixed-window hit counters in the cache (Redis in production), for rate limits."""

import time

from django.core.cache import cache


def window_hit(name: str, ident: object, seconds: int) -> tuple[int, int]:
    """Count a hit on ``name`` for ``ident`` in the current window of ``seconds``.

    Returns the hits in this window so far, this one included, and the seconds until
    the window ends (for Retry-After).
    """
    return window_add(name, ident, seconds, 1)


def window_add(
    name: str, ident: object, seconds: int, amount: int, *, at: int | None = None
) -> tuple[int, int]:
    """Add ``amount`` to ``name`` for ``ident`` in the window of ``seconds`` holding the
    time ``at`` (now by default); a negative amount gives back what an earlier call added,
    when given that call's ``at``.

    Returns the window's total, this amount included, and the seconds until it ends.
    """
    at = int(time.time()) if at is None else at
    key = f"{name}:{ident}:{at // seconds}"
    if hasattr(cache, "_cache") and hasattr(cache._cache, "get_client"):  # Redis: one trip
        full_key = cache.make_and_validate_key(key)
        pipe = cache._cache.get_client(full_key, write=True).pipeline()
        pipe.incrby(full_key, amount)
        pipe.expire(full_key, 2 * seconds)
        total = pipe.execute()[0]
    else:
        cache.add(key, 0, timeout=2 * seconds)
        total = cache.incr(key, amount)
    return total, seconds - at % seconds


def window_count(name: str, ident: object, seconds: int) -> int:
    """What ``window_hit`` or ``window_add`` counted so far in the current window."""
    key = f"{name}:{ident}:{int(time.time()) // seconds}"
    return int(cache.get(key) or 0)
