"""REST API v1 routes, its OpenAPI schema and its documentation (served locally)."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from accounts.api import TenantView
from domains.api import DomainDetailView, DomainListView, DomainVerifyView
from domains.hosting.api import MtaStsVersionsView, MtaStsView
from reports.api.views import (
    FailureListView,
    InboundDetailView,
    InboundListView,
    InboundReprocessView,
    InboundUploadView,
    ReportDetailView,
    ReportListView,
    ReportRawView,
    StatsBreakdownView,
    StatsDailyView,
)
from reports.metrics.views import MetricsView
from reports.selftest.api import SelfTestDetailView, SelfTestStartView


@csrf_exempt  # changes nothing; a POST must get this 404, not the CSRF page
def api_not_found(request: HttpRequest) -> JsonResponse:
    """Any other path under the API (an id that is not a number, say): 404 in the error shape."""
    error = {"code": "not_found", "message": "No such API route."}
    return JsonResponse({"error": error}, status=404)


urlpatterns = [
    path("tenant", TenantView.as_view(), name="api_tenant"),
    path("domains", DomainListView.as_view(), name="api_domains"),
    path("domains/<int:pk>", DomainDetailView.as_view(), name="api_domain"),
    path("domains/<int:pk>/verify", DomainVerifyView.as_view(), name="api_domain_verify"),
    path("domains/<int:pk>/mta-sts", MtaStsView.as_view(), name="api_domain_mta_sts"),
    path(
        "domains/<int:pk>/mta-sts/versions",
        MtaStsVersionsView.as_view(),
        name="api_domain_mta_sts_versions",
    ),
    path("domains/<int:pk>/self-test", SelfTestStartView.as_view(), name="api_self_test_start"),
    path(
        "domains/<int:pk>/self-test/<int:test_id>",
        SelfTestDetailView.as_view(),
        name="api_self_test",
    ),
    path("stats/daily", StatsDailyView.as_view(), name="api_stats_daily"),
    path("stats/breakdown", StatsBreakdownView.as_view(), name="api_stats_breakdown"),
    path("failures", FailureListView.as_view(), name="api_failures"),
    path("inbound", InboundListView.as_view(), name="api_inbound"),
    path("inbound/upload", InboundUploadView.as_view(), name="api_inbound_upload"),
    path("inbound/<int:pk>", InboundDetailView.as_view(), name="api_inbound_message"),
    path("inbound/<int:pk>/reprocess", InboundReprocessView.as_view(), name="api_reprocess"),
    path("reports", ReportListView.as_view(), name="api_reports"),
    path("reports/<int:pk>", ReportDetailView.as_view(), name="api_report"),
    path("reports/<int:pk>/raw", ReportRawView.as_view(), name="api_report_raw"),
    path("metrics", MetricsView.as_view(), name="api_metrics"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # Under the Content-Security-Policy: Swagger UI's start script comes from docs/?script
    # (the split view); both pages keep their styles in static files (templates/api/).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api_schema", template_name="api/swagger_ui.html"
        ),
        name="api_docs",
    ),
    path(
        "docs/redoc/",
        # Redoc injects <style> elements as it loads and searches in a worker it makes from
        # a blob: both allowed on this page alone; scripts stay as strict as everywhere.
        csp_update({"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})(
            SpectacularRedocView.as_view(url_name="api_schema", template_name="api/redoc.html")
        ),
        name="api_redoc",
    ),
    # Last; the pages' own paths without their slash are left to APPEND_SLASH's redirect.
    re_path(r"^(?!(?:schema|docs|docs/redoc)$)", api_not_found),
]
