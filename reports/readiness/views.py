"""The readiness card of one domain: a fragment the domain page and dashboard load with
htmx, or a page of its own for a browser without JavaScript."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.models import Role
from accounts.tenancy import TenantRequest, tenant_view
from domains.models import Domain
from reports.readiness.verdicts import domain_readiness


@tenant_view(Role.VIEWER)
def domain_readiness_card(request: TenantRequest, pk: int) -> HttpResponse:
    domain = get_object_or_404(Domain, pk=pk)
    context = {"domain": domain, "readiness": domain_readiness(domain)}
    if request.htmx:
        return render(request, "reports/_readiness.html", context)
    return render(request, "reports/readiness.html", context)
