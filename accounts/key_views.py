"""The tenant's API keys page (admins): list, create (the secret shown once), revoke."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.api_keys import api_key_create, api_key_revoke
from accounts.models import ApiKey, KeyScope, Role
from accounts.selectors import api_keys_of
from accounts.tenancy import TenantRequest, tenant_view


class KeyForm(forms.Form):
    name = forms.CharField(max_length=50, help_text="What uses it, e.g. monitoring.")
    scope = forms.ChoiceField(choices=KeyScope.choices, initial=KeyScope.READ)
    expiry = forms.DateTimeField(
        required=False,
        label="Expires",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Optional.",
    )


@tenant_view(Role.ADMIN)
def api_keys(request: TenantRequest) -> HttpResponse:
    form = KeyForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        _, secret = api_key_create(
            tenant=request.tenant, actor=request.user, name=form.cleaned_data["name"],
            scope=KeyScope(form.cleaned_data["scope"]), expiry=form.cleaned_data["expiry"],
            request=request,
        )  # fmt: skip
        form = KeyForm()
    context = {"form": form, "keys": api_keys_of(request.tenant), "secret": secret}
    return render(request, "accounts/api_keys.html", context)


@tenant_view(Role.ADMIN)
@require_POST
def api_key_revoke_view(request: TenantRequest, pk: str) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk, tenant=request.tenant)
    api_key_revoke(key=key, actor=request.user, request=request)
    messages.success(request, f"Revoked {key.name}: it stops working now.")
    return redirect("api_keys", slug=request.tenant.slug)
