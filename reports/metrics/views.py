"""The two metrics endpoints: a tenant's (``GET /api/v1/metrics``, an API key) and the
operators' (``GET /metrics``, ``METRICS_TOKEN``). Each scrape builds its figures in a
registry of its own: nothing is kept in the process between scrapes (a tenant's answer
is kept in the shared cache and refreshed behind it, reports.metrics.answers)."""

import hmac
import json
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from rest_framework.renderers import BaseRenderer, JSONRenderer

from accounts.api_auth import TenantAPIRequest, TenantAPIView
from domains.models import Domain
from reports.metrics.answers import answer_for, exposition, metrics_domains
from reports.metrics.operator import OperatorCollector


def text(body: bytes) -> HttpResponse:
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)


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
        return metrics_domains()

    @extend_schema(
        responses={(200, "text/plain"): OpenApiTypes.STR},
        summary="The tenant's figures for Prometheus, labelled by domain (text format 0.0.4)",
        description="Sessions, failures, reporters, open alerts, DNS check states and "
        "readiness to enforce, per domain, read from the daily rollups. Point a Prometheus "
        "`scrape_config` here with a read key as its bearer token (see the README).",
    )  # fmt: skip
    def get(self, request: TenantAPIRequest) -> HttpResponse:
        return text(answer_for(request.tenant.pk))


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
