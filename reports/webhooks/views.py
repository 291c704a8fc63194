"""Pages of a tenant's webhooks: members read the endpoints and their delivery logs; admins
add, change, rotate secrets, switch, remove, resend and send test events."""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.tenancy import TenantRequest, tenant_view
from reports.webhooks.delivery import url_problem
from reports.webhooks.events import EVENT_TYPES
from reports.webhooks.models import EndpointKind, WebhookDelivery, WebhookEndpoint
from reports.webhooks.record import delivery_resend, delivery_test
from reports.webhooks.services import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate,
    webhook_endpoint_set_enabled,
    webhook_endpoint_update,
)

LOG_SIZE = 50


class EndpointForm(forms.Form):
    url = forms.URLField(
        max_length=2000, label="URL", assume_scheme="https",
        help_text="Where events are POSTed; a Slack or Teams incoming-webhook URL for those kinds.",
    )  # fmt: skip
    description = forms.CharField(max_length=200, required=False)
    kind = forms.ChoiceField(choices=EndpointKind.choices, initial=EndpointKind.GENERIC)
    events = forms.MultipleChoiceField(
        choices=[(name, f"{name}: {text}") for name, text in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    enabled = forms.BooleanField(required=False, initial=True, label="On")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        problem = url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url


def _values(form: EndpointForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {name: data[name] for name in ("url", "description", "kind", "events", "enabled")}


@tenant_view(Role.MEMBER)
def webhook_list(request: TenantRequest) -> HttpResponse:
    endpoints = WebhookEndpoint.objects.order_by("pk")
    return render(request, "reports/webhooks/list.html", {"endpoints": endpoints})


@tenant_view(Role.ADMIN)
def webhook_new(request: TenantRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint, secret = webhook_endpoint_create(
            tenant=request.tenant, actor=request.user, request=request, **_values(form)
        )
        return render(request, "reports/webhooks/secret.html", {"endpoint": endpoint,
                                                                 "secret": secret})  # fmt: skip
    return render(request, "reports/webhooks/edit.html", {"form": form, "endpoint": None})


@tenant_view(Role.ADMIN)
def webhook_edit(request: TenantRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    initial = {
        "url": endpoint.url, "description": endpoint.description, "kind": endpoint.kind,
        "events": endpoint.events, "enabled": endpoint.enabled,
    }  # fmt: skip
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        webhook_endpoint_update(
            endpoint=endpoint, actor=request.user, request=request, **_values(form)
        )
        messages.success(request, f"Saved the webhook {endpoint.url}.")
        return redirect("webhook_detail", slug=request.tenant.slug, pk=endpoint.pk)
    return render(request, "reports/webhooks/edit.html", {"form": form, "endpoint": endpoint})


@tenant_view(Role.MEMBER)
def webhook_detail(request: TenantRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-pk")
    context = {"endpoint": endpoint, "deliveries": deliveries[:LOG_SIZE], "log_size": LOG_SIZE}
    return render(request, "reports/webhooks/detail.html", context)


@tenant_view(Role.ADMIN)
@require_POST
def webhook_rotate(request: TenantRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    secret = webhook_endpoint_rotate(endpoint=endpoint, actor=request.user, request=request)
    context = {"endpoint": endpoint, "secret": secret, "rotated": True}
    return render(request, "reports/webhooks/secret.html", context)


@tenant_view(Role.ADMIN)
@require_POST
def webhook_toggle(request: TenantRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    webhook_endpoint_set_enabled(
        endpoint=endpoint, enabled=not endpoint.enabled, actor=request.user, request=request
    )
    return redirect("webhook_detail", slug=request.tenant.slug, pk=endpoint.pk)


@tenant_view(Role.ADMIN)
@require_POST
def webhook_delete(request: TenantRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    webhook_endpoint_delete(endpoint=endpoint, actor=request.user, request=request)
    messages.success(request, f"Removed the webhook {endpoint.url}.")
    return redirect("webhook_list", slug=request.tenant.slug)


@tenant_view(Role.ADMIN)
@require_POST
def webhook_test(request: TenantRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    delivery_test(endpoint=endpoint, slug=request.tenant.slug)
    messages.info(request, "A test event is on its way; its delivery shows below.")
    return redirect("webhook_detail", slug=request.tenant.slug, pk=endpoint.pk)


@tenant_view(Role.ADMIN)
@require_POST
def webhook_resend(request: TenantRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    delivery_resend(delivery=delivery)
    messages.info(request, f"The {delivery.event_type} event is sent again.")
    return redirect("webhook_detail", slug=request.tenant.slug, pk=delivery.endpoint_id)
