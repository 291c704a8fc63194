"""The two metrics endpoints: a tenant's (``GET /api/v1/metrics``, an API key) and the
operators' (``GET /metrics``, ``METRICS_TOKEN``). Each scrape builds its figures in a
registry of its own: nothing is kept in the process between scrapes (a tenant's answer
is kept a minute in the shared cache, the same for every process)."""

import hmac
import json
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector
from rest_framework.renderers import BaseRenderer, JSONRenderer

from accounts.api_auth import TenantAPIRequest, TenantAPIView
from domains.models import Domain
from reports.metrics.operator import OperatorCollector
from reports.metrics.tenant import TenantCollector


def exposition(collector: Collector) -> bytes:
    """The collector's families in the Prometheus text format (0.0.4)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)


def text(body: bytes) -> HttpResponse:
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)


def tenant_exposition(tenant_id: int, domains: Callable[[], list[Domain]]) -> bytes:
    """The tenant's scrape, kept in the shared cache for METRICS_CACHE_SECONDS: its figures
    change when reports arrive, a few times a day, while a scraper asks every few seconds
    and each answer sums every stored day of the rollups. Keyed by the tenant's id."""
    seconds = settings.METRICS_CACHE_SECONDS
    key = f"tlsrpt:metrics:tenant:{tenant_id}"
    body = cache.get(key) if seconds > 0 else None
    if body is None:
        # With caching off (0), the older days' sums are read afresh too.
        body = exposition(TenantCollector(domains(), tenant_id if seconds > 0 else None))
        if seconds > 0:
            cache.set(key, body, seconds)
    return cast(bytes, body)


class PrometheusTextRenderer(BaseRenderer):
    """Lets a scraper ask for text/plain; errors then come as their JSON, in plain text."""

    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Any = None) -> bytes:  # fmt: skip
        return data if isinstance(data, bytes) else json.dumps(data).encode()


class MetricsView(TenantAPIView):
    renderer_classes = [JSONRenderer, PrometheusTextRenderer]

    def tenant_queryset(self) -> QuerySet[Domain]:
        return Domain.objects.only("pk", "name", "verified_at").order_by("name")

    @extend_schema(
        responses={(200, "text/plain"): OpenApiTypes.STR},
        summary="The tenant's figures for Prometheus, labelled by domain (text format 0.0.4)",
        description="Sessions, failures, reporters, open alerts, DNS check states and "
        "readiness to enforce, per domain, read from the daily rollups. Point a Prometheus "
        "`scrape_config` here with a read key as its bearer token (see the README).",
    )  # fmt: skip
    def get(self, request: TenantAPIRequest) -> HttpResponse:
        return text(tenant_exposition(request.tenant.pk, lambda: list(self.get_queryset())))


def _token_ok(request: HttpRequest) -> bool:
    keyword, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = settings.METRICS_TOKEN.encode()
    return keyword.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)


@require_GET
def operator_metrics(request: HttpRequest) -> HttpResponse:
    """Off (404) unless METRICS_TOKEN is set; then only with ``Authorization: Bearer`` it."""
    if not settings.METRICS_TOKEN:
        raise Http404("Metrics are off.")
    if not _token_ok(request):
        response = HttpResponse("Send the bearer token.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return text(exposition(OperatorCollector()))
