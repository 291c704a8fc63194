"""At most one probe of an MX host per ``MX_PROBE_INTERVAL_MINUTES``, across all tenants.

A definitive result younger than the interval is reused. Otherwise one worker probes,
holding a short lock in the shared cache; any other that asks meanwhile waits for its
result (at most the probe's deadline) instead of probing the host again. Unknown results
(timeouts, no connection) are stored but never reused: the retry probes afresh.
"""

import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from domains.probes.models import MxProbe
from domains.probes.smtp_tls import ProbeResult, mx_probe

_POLL_SECONDS = 0.2


def _fresh(host: str) -> ProbeResult | None:
    since = timezone.now() - timedelta(minutes=settings.MX_PROBE_INTERVAL_MINUTES)
    row = MxProbe.objects.filter(host=host, probed_at__gte=since).first()
    if row is None:
        return None
    result = ProbeResult.from_dict(row.result)
    return None if result.unknown else result


def _store(result: ProbeResult) -> None:
    MxProbe.objects.update_or_create(
        host=result.host, defaults={"probed_at": result.probed_at, "result": result.as_dict()}
    )


def probe_shared(host: str) -> ProbeResult:
    """The probe of ``host``: a recent one if any tenant caused it, else a new one."""
    host = host.rstrip(".").lower()
    if (result := _fresh(host)) is not None:
        return result
    lock, wait = f"mx-probe-lock:{host}", settings.MX_PROBE_DEADLINE + 5
    if cache.add(lock, 1, timeout=int(wait) + 1):
        try:
            # Another worker may have stored its probe between our look and our lock.
            if (result := _fresh(host)) is None:
                result = mx_probe(host)
                _store(result)
        finally:
            cache.delete(lock)
        return result
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and cache.get(lock) is not None:
        time.sleep(_POLL_SECONDS)  # another worker is probing this host right now
    return _fresh(host) or probe_shared_unlocked(host)


def probe_shared_unlocked(host: str) -> ProbeResult:
    """The other worker's probe was unknown or never came: probe (a retry, not a flood)."""
    result = mx_probe(host)
    _store(result)
    return result
