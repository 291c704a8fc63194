"""Fixed-window hit counters in the cache (Redis in production), for rate limits."""

import time

from django.core.cache import cache


def window_hit(name: str, ident: object, seconds: int) -> tuple[int, int]:
    """Count a hit on ``name`` for ``ident`` in the current window of ``seconds``.

    Returns the hits in this window so far, this one included, and the seconds until
    the window ends (for Retry-After).
    """
    now = int(time.time())
    key = f"{name}:{ident}:{now // seconds}"
    if hasattr(cache, "_cache") and hasattr(cache._cache, "get_client"):  # Redis: one trip
        full_key = cache.make_and_validate_key(key)
        pipe = cache._cache.get_client(full_key, write=True).pipeline()
        pipe.incr(full_key)
        pipe.expire(full_key, 2 * seconds)
        count = pipe.execute()[0]
    else:
        cache.add(key, 0, timeout=2 * seconds)
        count = cache.incr(key)
    return count, seconds - now % seconds
