"""Pages of the reports app: upload files, and the ingest log with reprocessing."""

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Min, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.tenancy import TenantRequest, tenant_view
from reports.inbound.refusals import RECENT_DAYS, refusals_recent
from reports.inbound.store import inbound_store
from reports.inbound.unattributed import named_domains
from reports.ingest.messages import message_reprocess
from reports.models import Channel, InboundMessage, Status

UPLOAD_SUFFIXES = (".json", ".json.gz", ".gz", ".eml", ".zip")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented recipe)."""

    def clean(self, data: object, initial: object = None) -> list:
        one = super().clean
        return [one(f, initial) for f in data] if isinstance(data, list | tuple) else [one(data)]


class UploadForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Not declared on the class: there a field named ``files`` type-checks as Form.files
        # (the bound uploads), though Django's metaclass moves declared fields off the class.
        self.fields["files"] = MultipleFileField(
            label="Report files",
            widget=MultipleFileInput(attrs={"accept": ",".join(UPLOAD_SUFFIXES)}),
            help_text="TLS reports as .json, .json.gz, .zip, or whole emails as .eml.",
        )

    def clean_files(self) -> list:
        files = self.cleaned_data["files"]
        limit = settings.TLSRPT_MAX_MESSAGE_BYTES
        for f in files:
            if not f.name.lower().endswith(UPLOAD_SUFFIXES):
                raise forms.ValidationError(f"{f.name}: not a .json, .json.gz, .zip or .eml file.")
            if f.size > limit:
                raise forms.ValidationError(f"{f.name}: larger than {limit} bytes.")
        return files


@tenant_view(Role.MEMBER)
def upload(request: TenantRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        ids = [
            inbound_store(
                tenant=request.tenant, channel=Channel.UPLOAD, raw=f.read(), filename=f.name
            ).pk
            for f in form.cleaned_data["files"]
        ]
        query = ",".join(map(str, ids))
        return redirect(f"{request.path}?ids={query}")
    ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.isdigit()][:100]
    uploaded = _with_counts(InboundMessage.objects.filter(pk__in=ids).order_by("pk"))
    context = {"form": form, "uploaded": uploaded, "waiting": _waiting(uploaded)}
    template = "reports/_uploaded.html" if request.htmx else "reports/upload.html"
    return render(request, template, context)


@tenant_view(Role.VIEWER)
def inbound_log(request: TenantRequest) -> HttpResponse:
    rows = InboundMessage.objects.defer("raw").order_by("-received_at", "-pk")
    status = request.GET.get("status", "")
    if status in Status.values:
        rows = rows.filter(status=status)
    one = request.GET.get("message", "")
    if one.isdigit():
        rows = rows.filter(pk=one)
    page = Paginator(_with_counts(rows), 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "message_id": one if one.isdigit() else "",
        "filtered": bool(status in Status.values or one.isdigit()),
        "statuses": Status.choices,
        "named": named_domains(page),
        "can_reprocess": request.membership.has_role(Role.MEMBER),
        "can_add_domain": request.membership.has_role(Role.ADMIN),
        "retention_days": settings.INBOUND_RETENTION_DAYS,
        "refusals": refusals_recent(),
        "refusal_days": RECENT_DAYS,
    }
    return render(request, "reports/inbound_log.html", context)


@tenant_view(Role.MEMBER)
@require_POST
def inbound_reprocess(request: TenantRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage.objects.defer("raw"), pk=pk)
    if message_reprocess(message=message):
        messages.success(request, f"Message {message.pk} is queued again.")
    else:
        messages.error(request, "Only failed or unattributed messages can be reprocessed.")
    return redirect(_back_to_log(request))


def _back_to_log(request: TenantRequest) -> str:
    """The log as it was shown (its filter and page), from the form's ``next``; only a
    path of this tenant's log on this site, never another address."""
    log = reverse("inbound_log", args=[request.tenant.slug])
    wanted = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if safe and urlsplit(wanted).path == log else log


def _with_counts(rows: QuerySet[InboundMessage]) -> QuerySet[InboundMessage]:
    """Each message with its reports' count and the first one's id (its link)."""
    return rows.defer("raw").annotate(report_count=Count("reports"), first_report=Min("reports"))


def _waiting(rows: Iterable[InboundMessage]) -> bool:
    return any(r.status == Status.RECEIVED for r in rows)
