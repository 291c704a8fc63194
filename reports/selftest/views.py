"""The self-test's pages: the domain page's button starts one, a progress page follows it
(htmx polls it every 2 s until it has passed or failed)."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.tenancy import TenantRequest, tenant_view
from domains.models import Domain
from reports.selftest.models import SelfTest
from reports.selftest.selectors import self_test_progress
from reports.selftest.services import TooManySelfTests, self_test_create


@tenant_view(Role.MEMBER)
@require_POST
def self_test_start(request: TenantRequest, pk: int) -> HttpResponse:
    domain = get_object_or_404(Domain, pk=pk)
    try:
        test = self_test_create(
            domain=domain, actor=request.user, https=bool(request.POST.get("https"))
        )
    except TooManySelfTests as e:
        messages.error(request, str(e))
        return redirect("domain_detail", request.tenant.slug, domain.pk)
    return redirect("self_test_progress", request.tenant.slug, domain.pk, test.pk)


@tenant_view(Role.VIEWER)
def self_test_page(request: TenantRequest, pk: int, test_id: int) -> HttpResponse:
    test = get_object_or_404(SelfTest.objects.select_related("domain"), pk=test_id)
    if test.domain_id != pk:  # compared here: SQLite raises on a foreign key past 64 bits
        raise Http404("No such self-test of this domain.")
    context = {"progress": self_test_progress(test), "domain": test.domain}
    template = "reports/selftest/_progress.html" if request.htmx else "reports/selftest/page.html"
    return render(request, template, context)
