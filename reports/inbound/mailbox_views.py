"""Pages of a tenant's IMAP mailboxes (admins): list, add, change, test, pause, remove."""

import ipaddress
import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import escape
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.tenancy import TenantRequest, tenant_view
from reports.inbound.imap import mailbox_port_allowed, mailbox_test
from reports.inbound.mailboxes import (
    PASSWORD_BOUND,
    mailbox_needs_password,
    mailbox_remove,
    mailbox_save,
    mailbox_set_active,
)
from reports.models import MailboxSource

# Letters, digits and hyphens in dot-separated labels (IDNs turned into their xn-- form).
_HOST_NAME = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*")


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text=(
            "Stored encrypted and never shown again. Leave empty to keep the current one, "
            "unless the server, port, security or username changes."
        ),
    )

    class Meta:
        model = MailboxSource
        fields = ["name", "host", "port", "tls_mode", "username", "folder", "processed_folder"]
        labels = {"tls_mode": "Security", "processed_folder": "Move processed mail to"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.fields["password"].required = True
            self.fields["password"].help_text = "Stored encrypted and never shown again."

    def clean_host(self) -> str:
        host = self.cleaned_data["host"].strip().rstrip(".").lower()
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            pass
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            host = ""
        if not _HOST_NAME.fullmatch(host):
            raise forms.ValidationError("Enter a host name such as imap.example.com.")
        return host

    def clean_port(self) -> int:
        port = self.cleaned_data["port"]
        if not mailbox_port_allowed(port):
            ports = " or ".join(str(p) for p in settings.IMAP_ALLOWED_PORTS)
            raise forms.ValidationError(f"Use port {ports}; mailboxes are read on no other.")
        return port

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A new mailbox's password is a required field already.
        known = self.instance.pk and all(field in cleaned for field in PASSWORD_BOUND)
        if known and not cleaned.get("password") and mailbox_needs_password(self.instance, cleaned):
            self.add_error(
                "password",
                "Enter the password again: the server, port, security or username changed, "
                "and the stored password is only sent where it was entered for.",
            )
        return cleaned


@tenant_view(Role.ADMIN)
def mailbox_list(request: TenantRequest) -> HttpResponse:
    mailboxes = MailboxSource.objects.order_by("name")
    return render(request, "reports/mailbox_list.html", {"mailboxes": mailboxes})


@tenant_view(Role.ADMIN)
def mailbox_edit(request: TenantRequest, pk: int | None = None) -> HttpResponse:
    mailbox = get_object_or_404(MailboxSource, pk=pk) if pk else None
    form = MailboxForm(request.POST or None, instance=mailbox)
    if request.method == "POST" and form.is_valid():
        saved = mailbox_save(
            tenant=request.tenant, actor=request.user, values=form.cleaned_data,
            password=form.cleaned_data["password"], mailbox=mailbox, request=request,
        )  # fmt: skip
        messages.success(request, f"Saved {saved.name}. {mailbox_test(saved)}")
        return redirect("mailbox_list", slug=request.tenant.slug)
    return render(request, "reports/mailbox_edit.html", {"form": form, "mailbox": mailbox})


@tenant_view(Role.ADMIN)
@require_POST
def mailbox_check(request: TenantRequest, pk: int) -> HttpResponse:
    mailbox = get_object_or_404(MailboxSource, pk=pk)
    outcome = mailbox_test(mailbox)
    if request.htmx:
        return HttpResponse(escape(outcome))
    messages.info(request, f"{mailbox.name}: {outcome}")
    return redirect("mailbox_list", slug=request.tenant.slug)


@tenant_view(Role.ADMIN)
@require_POST
def mailbox_toggle(request: TenantRequest, pk: int) -> HttpResponse:
    mailbox = get_object_or_404(MailboxSource, pk=pk)
    mailbox_set_active(
        mailbox=mailbox, active=not mailbox.active, actor=request.user, request=request
    )
    return redirect("mailbox_list", slug=request.tenant.slug)


@tenant_view(Role.ADMIN)
@require_POST
def mailbox_delete(request: TenantRequest, pk: int) -> HttpResponse:
    mailbox = get_object_or_404(MailboxSource, pk=pk)
    mailbox_remove(mailbox=mailbox, actor=request.user, request=request)
    messages.success(request, f"Removed {mailbox.name}.")
    return redirect("mailbox_list", slug=request.tenant.slug)
