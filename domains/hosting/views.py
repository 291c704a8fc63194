"""The MTA-STS hosting page of a domain: admins edit the policy, everyone reads it."""

from dataclasses import replace

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.models import Role
from accounts.tenancy import TenantRequest, tenant_view
from domains.hosting.automatic import auto_state, settings_of
from domains.hosting.forms import HostedPolicyForm
from domains.hosting.models import ChangeSource, HostedPolicy
from domains.hosting.policy import PolicyError
from domains.hosting.selectors import hosted_policy_of, hosted_policy_versions, hosting_view
from domains.hosting.services import PolicySettings, hosted_policy_update
from domains.models import Domain


def _initial(policy: HostedPolicy) -> dict:
    return {"enabled": policy.enabled, "mode": policy.mode, "mx": "\n".join(policy.mx),
            "max_age": policy.max_age, "txt_mode": policy.txt_mode}  # fmt: skip


class LoopForm(forms.Form):
    """The enforcement loop's switches (reports.enforcement), saved as a version of their own."""

    auto_promote = forms.BooleanField(
        label="Promote to enforce by itself once ready, then ramp max_age", required=False
    )
    auto_rollback = forms.BooleanField(
        label="Roll back to testing by itself on a failure spike", required=False
    )


def _loop_save(request: TenantRequest, domain: Domain, policy: HostedPolicy) -> HttpResponse:
    if not request.membership.has_role(Role.ADMIN):
        return HttpResponse("Only admins can change MTA-STS hosting.", status=403)
    form = LoopForm(request.POST)
    if policy.pk is None or not form.is_valid():
        messages.error(request, "Set up hosting first, then the loop.")
    else:
        wanted = replace(settings_of(policy), **form.cleaned_data)
        try:
            hosted_policy_update(
                domain=domain, wanted=wanted, actor=request.user, source=ChangeSource.MANUAL,
                request=request,
            )  # fmt: skip
        except PolicyError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"Saved the enforcement loop of {domain.name}.")
    return redirect("domain_mta_sts", slug=request.tenant.slug, pk=domain.pk)


@tenant_view(Role.VIEWER)
def domain_mta_sts(request: TenantRequest, pk: int) -> HttpResponse:
    domain = get_object_or_404(Domain.objects.select_related("tenant"), pk=pk)
    policy = hosted_policy_of(domain)
    if request.method == "POST" and "loop" in request.POST:
        return _loop_save(request, domain, policy)
    form = HostedPolicyForm(request.POST or None, initial=_initial(policy))
    if request.method == "POST":
        if not request.membership.has_role(Role.ADMIN):
            return HttpResponse("Only admins can change MTA-STS hosting.", status=403)
        if form.is_valid():
            wanted = PolicySettings(
                **form.cleaned_data,
                auto_promote=policy.auto_promote, auto_rollback=policy.auto_rollback,
            )  # fmt: skip
            try:
                hosted_policy_update(
                    domain=domain, wanted=wanted, actor=request.user,
                    source=ChangeSource.MANUAL, request=request,
                )  # fmt: skip
            except PolicyError as e:
                form.add_error(None, e.message)
            else:
                messages.success(request, f"Saved the MTA-STS hosting of {domain.name}.")
                return redirect("domain_mta_sts", slug=request.tenant.slug, pk=domain.pk)
    context = {
        "domain": domain, "form": form, "hosting": hosting_view(domain, policy),
        "versions": hosted_policy_versions(policy),
        "loop": auto_state(policy),
        "loop_form": LoopForm(initial={"auto_promote": policy.auto_promote,
                                       "auto_rollback": policy.auto_rollback}),
    }  # fmt: skip
    return render(request, "domains/hosting/mta_sts.html", context)
