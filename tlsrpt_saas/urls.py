"""Top-level URL routes.

Everything of a tenant lives under ``/t/<slug>/``: the views there are wrapped by
``accounts.tenancy.tenant_view``, which checks membership and enters the tenant's scope.
"""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from accounts import urls as accounts_urls
from accounts import views as accounts_views
from domains import urls as domains_urls
from reports import urls as reports_urls
from reports.digests.views import digest_unsubscribe
from reports.metrics.views import operator_metrics

# The admin logs in through allauth: same rate limits, verified email and two factors.
# (Replacing the bound method is how allauth documents it; mypy refuses method assignment.)
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness probe for load balancers and compose health checks."""
    return HttpResponse("ok", content_type="text/plain")


tenant_patterns = (
    accounts_urls.tenant_patterns + domains_urls.tenant_patterns + reports_urls.tenant_patterns
)

urlpatterns = [
    path("", accounts_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include(accounts_urls.urlpatterns)),
    path("", include(reports_urls.urlpatterns)),
    path("t/<slug:slug>/", include(tenant_patterns)),
    path("api/v1/", include("tlsrpt_saas.api_urls")),
    path("digest/unsubscribe/<str:token>", digest_unsubscribe, name="digest_unsubscribe"),
    path("healthz", healthz, name="healthz"),
    # The operators' Prometheus metrics: 404 unless METRICS_TOKEN is set.
    path("metrics", operator_metrics, name="operator_metrics"),
]
