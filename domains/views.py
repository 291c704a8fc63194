"""Pages of a tenant's domains: list and add, the records to publish, check, remove."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.tenancy import TenantRequest, tenant_view
from domains.forms import DomainAddForm
from domains.health import ManualCheckLimit, domain_check_manual
from domains.lifecycle import domain_add, domain_remove
from domains.models import Domain
from domains.names import DomainNameError
from domains.selectors import domains_by_name, last_attempt, latest_checks


@tenant_view(Role.VIEWER)
def domain_list(request: TenantRequest) -> HttpResponse:
    # "Add this domain" on the ingest log links here with ?name= (the domain a report named).
    initial = {"name": request.GET.get("name", "")[:253]}
    form = DomainAddForm(request.POST or None, initial=initial)
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
    context = {"form": form, "domains": domains_by_name()}
    return render(request, "domains/domain_list.html", context)


def _health_context(domain: Domain, since: str = "") -> dict:
    checked = domain.health_checked_at
    waiting = bool(since) and (checked is None or checked.isoformat() < since)
    return {
        "domain": domain,
        "checks": latest_checks([domain])[domain.pk],
        "attempt": last_attempt(domain),
        "since": since if waiting else "",
    }


@tenant_view(Role.VIEWER)
def domain_detail(request: TenantRequest, pk: int) -> HttpResponse:
    domain = get_object_or_404(Domain, pk=pk)
    return render(request, "domains/domain_detail.html", _health_context(domain))


@tenant_view(Role.VIEWER)
def domain_health(request: TenantRequest, pk: int) -> HttpResponse:
    """The health panel alone, polled by the page while a check it started runs."""
    domain = get_object_or_404(Domain, pk=pk)
    context = _health_context(domain, request.GET.get("since", "")[:40])
    return render(request, "domains/_health.html", context)


@tenant_view(Role.MEMBER)
@require_POST
def domain_check_now(request: TenantRequest, pk: int) -> HttpResponse:
    """Ownership now; the DNS health checks of a verified domain queued for the worker."""
    domain = get_object_or_404(Domain, pk=pk)
    try:
        checked = domain_check_manual(domain=domain, actor=request.user)
    except ManualCheckLimit:
        message = (
            f"This tenant started {settings.DNS_MANUAL_CHECKS_PER_HOUR} checks in the last "
            "hour, the most allowed. The daily checks still run; try again later."
        )
        return render(request, "429.html", {"message": message}, status=429)
    since = checked.health_after.isoformat() if checked.health_after else ""
    if request.htmx:
        context = {**_health_context(domain, since), "oob": True}
        return render(request, "domains/_status.html", context)
    if since:
        messages.info(request, "DNS health checks are running; results appear below shortly.")
    return redirect("domain_detail", slug=request.tenant.slug, pk=domain.pk)


@tenant_view(Role.ADMIN)
def domain_delete(request: TenantRequest, pk: int) -> HttpResponse:
    domain = get_object_or_404(Domain, pk=pk)
    if request.method == "POST":
        deleted = domain_remove(domain=domain, actor=request.user, request=request)
        messages.success(request, f"Removed {domain.name} and {deleted} of its reports.")
        return redirect("domain_list", slug=request.tenant.slug)
    return render(request, "domains/domain_delete.html", {"domain": domain})
