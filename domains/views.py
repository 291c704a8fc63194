"""Pages of a tenant's domains: list and add, the records to publish, check, remove."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.tenancy import tenant_view
from domains.forms import DomainAddForm
from domains.lifecycle import domain_add, domain_remove
from domains.models import Domain
from domains.names import DomainNameError
from domains.verification import domain_check


@tenant_view(Role.VIEWER)
def domain_list(request: HttpRequest) -> HttpResponse:
    form = DomainAddForm(request.POST or None)
    if request.method == "POST":
        if not request.membership.has_role(Role.ADMIN):
            return HttpResponse("Only admins can add domains.", status=403)
        if form.is_valid():
            try:
                domain = domain_add(
                    tenant=request.tenant, name=form.cleaned_data["name"],
                    actor=request.user, request=request,
                )  # fmt: skip
            except DomainNameError as e:
                form.add_error("name", str(e))
            else:
                messages.success(request, f"Added {domain.name}. Now publish its records.")
                return redirect("domain_detail", slug=request.tenant.slug, pk=domain.pk)
    domains = Domain.objects.order_by("name")
    return render(request, "domains/domain_list.html", {"form": form, "domains": domains})


@tenant_view(Role.VIEWER)
def domain_detail(request: HttpRequest, pk: int) -> HttpResponse:
    domain = get_object_or_404(Domain, pk=pk)
    return render(request, "domains/domain_detail.html", {"domain": domain})


@tenant_view(Role.MEMBER)
@require_POST
def domain_check_now(request: HttpRequest, pk: int) -> HttpResponse:
    domain = get_object_or_404(Domain, pk=pk)
    domain_check(domain=domain, actor=request.user)
    domain.refresh_from_db()
    if request.htmx:
        return render(request, "domains/_status.html", {"domain": domain})
    return redirect("domain_detail", slug=request.tenant.slug, pk=domain.pk)


@tenant_view(Role.ADMIN)
def domain_delete(request: HttpRequest, pk: int) -> HttpResponse:
    domain = get_object_or_404(Domain, pk=pk)
    if request.method == "POST":
        deleted = domain_remove(domain=domain, actor=request.user, request=request)
        messages.success(request, f"Removed {domain.name} and {deleted} of its reports.")
        return redirect("domain_list", slug=request.tenant.slug)
    return render(request, "domains/domain_delete.html", {"domain": domain})
