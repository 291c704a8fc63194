"""A tenant's ``/api/v1/metrics`` answer, kept in the shared cache and refreshed behind it.

A scrape costs a few hundred milliseconds to compute on a tenant of a few hundred domains
(most of it writing some thousands of samples), while the figures change when reports
arrive, a few times a day. So the answer is kept in the shared cache with the moment it was
computed: a scrape gets it at once, and when it is older than ``METRICS_CACHE_SECONDS`` the
scrape also queues one refresh (``reports.metrics.refresh``, at most one at a time per
tenant), which the next scrape then gets. Only a tenant's first scrape, or one after an hour
without any, computes the answer itself. With ``METRICS_CACHE_SECONDS=0`` every scrape
computes it, from every stored day. Callers are inside the tenant's scope.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

from domains.models import Domain
from reports.metrics.tenant import TenantCollector
from tlsrpt_saas.queueing import task_queue_on_commit

KEPT_SECONDS = 3600  # a stale answer is served (and refreshed) for at most this long
REFRESH = "reports.metrics.refresh"


def exposition(collector: Collector) -> bytes:
    """The collector's families in the Prometheus text format (0.0.4)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)


def metrics_domains() -> QuerySet[Domain]:
    return Domain.objects.only("pk", "name", "verified_at").order_by("name")


def _key(tenant_id: int) -> str:
    return f"tlsrpt:metrics:tenant:{tenant_id}"


def refreshing_key(tenant_id: int) -> str:
    """Set while a refresh of the tenant's answer is queued, so a scrape queues one only."""
    return f"{_key(tenant_id)}:refreshing"


def answer_compute(tenant_id: int) -> bytes:
    """Compute the tenant's answer now and keep it, stamped with the moment."""
    seconds = settings.METRICS_CACHE_SECONDS
    body = exposition(TenantCollector(list(metrics_domains()), tenant_id if seconds else None))
    if seconds > 0:
        cache.set(_key(tenant_id), (time.time(), body), KEPT_SECONDS)
    return body


def answer_for(tenant_id: int) -> bytes:
    """The kept answer (a refresh queued when it is older than METRICS_CACHE_SECONDS), or
    one computed now when none is kept."""
    seconds = settings.METRICS_CACHE_SECONDS
    kept = cache.get(_key(tenant_id)) if seconds > 0 else None
    if kept is None:
        return answer_compute(tenant_id)
    computed_at, body = kept
    if time.time() - computed_at > seconds and cache.add(refreshing_key(tenant_id), 1, 60):
        task_queue_on_commit(REFRESH, tenant_id)
    return bytes(body)
