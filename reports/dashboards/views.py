"""Dashboards: the tenant overview's figures, a domain's dashboard, reports and details."""

import base64
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.models import Role
from accounts.tenancy import TenantRequest, tenant_view
from domains.hosting.models import HostedPolicyVersion
from domains.models import CheckKind, DnsCheck, Domain
from domains.selectors import changes as dns_changes
from domains.selectors import latest_checks
from reports.dashboards import periods, reporters, selectors
from reports.dashboards.advice import advice, reason
from reports.dashboards.chart_data import axis_title, change_marks, chart_payload, chart_points
from reports.dashboards.conflicts import message_conflicts
from reports.dashboards.disagreements import Disagreement, clean_organizations, disagreements
from reports.dashboards.exports import DAILY_COLUMNS, FAILURE_COLUMNS, csv_lines
from reports.dashboards.heatmaps import LEGEND as HEAT_LEGEND
from reports.dashboards.heatmaps import mx_heatmap
from reports.dashboards.json_text import json_view
from reports.dashboards.kpis import domain_kpis
from reports.dashboards.overview import tenant_overview
from reports.dashboards.periods import Period, PeriodChoice, latest_period, period_parse
from reports.dashboards.probe_notes import (
    ProbeNote,
    failure_rows,
    notes_by_type,
    probe_notes,
)
from reports.dashboards.report_detail import (
    details_page,
    failure_type_totals,
    report_sessions,
    reports_with_sessions,
)
from reports.dashboards.report_filters import (
    domain_choices,
    domain_ids,
    report_filters_parse,
    report_page,
)
from reports.dashboards.reporter_grid import LEGEND as GRID_LEGEND
from reports.dashboards.reporter_grid import reporter_grid
from reports.dashboards.selectors import DayPoint
from reports.enforcement.markers import policy_changes, policy_marks
from reports.models import Channel, InboundMessage, PolicyType, Report


def period_from(request: TenantRequest) -> PeriodChoice:
    """The period asked for (reports.dashboards.periods), in the tenant's time zone."""
    return period_parse(params=request.GET, time_zone=request.tenant.time_zone)


@tenant_view(Role.VIEWER)
def domain_dashboard(request: TenantRequest, pk: int) -> HttpResponse:
    domain = get_object_or_404(Domain, pk=pk)
    choice = period_from(request)
    period = choice.period
    step, series = selectors.series_for([domain], period, selectors.CHART_POINTS)
    by_type = selectors.failures_by(domain, period, "result_type")
    changes = dns_changes(domain, period.start, period.end)
    versions = policy_changes(domain, period.start, period.end)
    raw = periods.raw_retention()
    totals = selectors.domain_totals(domain, period)
    previous = selectors.domain_totals(domain, period.previous())
    last_day = reporters.last_report_day(domain)
    notes, splits = _explanations(domain, period)
    organizations = reporters.organizations(domain, period)
    heatmap = mx_heatmap(domain, period, step, series)
    grid = reporter_grid(domain, period, step, heatmap.columns, organizations)
    context = {
        "domain": domain,
        "period": period,
        "chosen": choice.chosen,
        "period_error": choice.error,
        "periods": periods.PERIODS,
        "totals": totals,
        "previous": previous,
        "kpis": domain_kpis(
            totals,
            previous,
            (grid.reporters, grid.reporters_before),
            (heatmap.failing, heatmap.failing_before),
        ),
        "series": series,
        "step": step,
        "axis_title": axis_title(step),
        "chart": chart_payload(series, step, _change_marks(changes, versions, step, series)),
        "heatmap": heatmap,
        "heat_legend": HEAT_LEGEND,
        "grid": grid,
        "grid_legend": GRID_LEGEND,
        "dns_changes": [c for c in changes if c.kind != CheckKind.MX_TLS],
        "probe_changes": [c for c in changes if c.kind == CheckKind.MX_TLS],
        "policy_changes": versions,
        "by_type": [(t, n, advice(t, domain.name), notes.get(t, [])) for t, n in by_type],
        "disagreements": splits,
        "by_mx": selectors.failures_by(domain, period, "receiving_mx"),
        "by_org": selectors.failures_by(domain, period, "organization"),
        "by_policy": selectors.failures_by_policy_type(domain, period),
        "raw": raw,
        "by_ip": selectors.failures_by_sending_ip(domain, period),
        "reasons": [
            (code, n, reason(code, domain.name))
            for code, n in selectors.failure_reasons(domain, period)
        ],
        "organizations": organizations,
        "last_report_day": last_day,
        "latest": latest_period(
            latest=last_day,
            shown=period,
            sessions=totals.sessions,
            time_zone=request.tenant.time_zone,
        ),
    }
    return render(request, "reports/domain_dashboard.html", context)


def _explanations(
    domain: Domain, period: Period
) -> tuple[dict[str, list[ProbeNote]], list[Disagreement]]:
    """What the latest probe says of each reported failure, and where reporters disagree."""
    rows = failure_rows(domain, period)
    if not rows:
        return {}, []
    evidence = latest_checks([domain])[domain.pk]  # the probe and the MTA-STS check
    notes = notes_by_type(probe_notes(rows, evidence.get(CheckKind.MX_TLS)))
    clean = clean_organizations(domain, period)
    return notes, disagreements(rows, clean, evidence.get(CheckKind.MTA_STS), domain.name)


def _change_marks(
    changes: list[DnsCheck],
    versions: list[HostedPolicyVersion],
    step: str,
    series: list[DayPoint],
) -> dict[str, dict[str, list[str]]]:
    """The chart's marks by kind ("dns", "probe", "policy"): point (ISO day) -> what changed."""
    points = chart_points(series, step)
    return {**change_marks(changes, points), "policy": policy_marks(versions, points)}


def _cursor(day: date, pk: int) -> str:
    raw = f"{day.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def _after(cursor: str) -> tuple[date, int] | None:
    try:
        day, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return date.fromisoformat(day), int(pk)
    except (ValueError, UnicodeDecodeError):
        return None


@tenant_view(Role.VIEWER)
def report_list(request: TenantRequest) -> HttpResponse:
    filters, errors = report_filters_parse(request.GET)
    # The form's values as given; a date that cannot be used is said and left out.
    shown = {k: request.GET.get(k, "").strip() for k in FORM_FIELDS}
    for key in ("from", "to"):
        if key in errors and (filters.start if key == "from" else filters.end) is None:
            shown[key] = ""
    page = report_page(filters, after=_after(request.GET.get("after", "")))
    context = {
        "reports": page.reports,
        "rows": reports_with_sessions(page.reports),
        "next_cursor": _cursor(*page.more_after) if page.more_after else None,
        "filters": shown,
        "date_errors": [errors[k] for k in ("from", "to") if k in errors],
        "query": urlencode({k: v for k, v in shown.items() if v}),
        "domains": domain_choices(),
        "organizations": reporters.organization_names(request.tenant.pk),
        "policy_types": PolicyType.values,
    }
    return render(request, "reports/report_list.html", context)


FORM_FIELDS = (
    "domain", "organization", "policy_type", "result_type", "from", "to", "failures", "inbound",
)  # fmt: skip


# A report's JSON up to this size is shown whole; a larger one only so far, with the
# download for the rest (a report of 100,000 failure details is some 30 MB).
JSON_INLINE_BYTES = 48 * 1024


@tenant_view(Role.VIEWER)
def report_detail(request: TenantRequest, pk: int) -> HttpResponse:
    found = Report.objects.select_related("inbound").defer("inbound__raw")
    report = get_object_or_404(found, pk=pk)
    # The day: one partition, on PostgreSQL.
    policies = list(report.policies.filter(day=report.day).select_related("domain").order_by("pk"))
    ids = [p.pk for p in policies]
    totals = failure_type_totals(ids, report.day)
    result_type = request.GET.get("result_type", "").strip()
    if result_type not in {t.result_type for t in totals}:
        result_type = ""
    page = request.GET.get("page", "")
    details = details_page(
        ids, report.day, totals, result_type=result_type, number=int(page) if page.isdigit() else 1
    )
    by_pk = {p.pk: p for p in policies}
    for row in details.rows:
        row.policy = by_pk[row.policy_id]  # already loaded: no query per row
    domains = list({p.domain.pk: p.domain for p in policies if p.domain}.values())
    named = domains[0].name if domains else next((p.policy_domain for p in policies), "")
    context = {
        "report": report,
        "policies": policies,
        "sessions": report_sessions(policies),
        "domains": domains,
        "type_totals": [(t, advice(t.result_type, named or "<domain>")) for t in totals],
        "details": details,
        "result_type": result_type,
        "json": json_view(bytes(report.raw_json_gz), limit=JSON_INLINE_BYTES),
    }
    return render(request, "reports/report_detail.html", context)


@tenant_view(Role.VIEWER)
def report_raw(request: TenantRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(Report.objects.only("raw_json_gz", "report_id"), pk=pk)
    response = HttpResponse(report.raw_json, content_type="application/json")
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in report.report_id)[:100]
    response["Content-Disposition"] = f'attachment; filename="{name or report.pk}.json"'
    return response


@tenant_view(Role.VIEWER)
def inbound_conflict(request: TenantRequest, pk: int) -> HttpResponse:
    """A message's reports beside the stored ones whose key they repeat with other content."""
    message = get_object_or_404(InboundMessage, pk=pk)
    context = {"message": message, "comparison": message_conflicts(message=message)}
    return render(request, "reports/inbound_conflict.html", context)


@tenant_view(Role.VIEWER)
def inbound_raw(request: TenantRequest, pk: int) -> HttpResponse:
    """The message's bytes as they arrived, as a download (never shown inline)."""
    message = get_object_or_404(InboundMessage, pk=pk)
    response = HttpResponse(bytes(message.raw), content_type="application/octet-stream")
    # An e-mail's file name is that of its attachments: the download is the whole e-mail.
    if message.channel in (Channel.SMTP, Channel.IMAP):
        name = f"message-{message.pk}.eml"
    else:
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in message.filename)[:100]
        name = name or f"message-{message.pk}.bin"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@tenant_view(Role.VIEWER)
def export_csv(request: TenantRequest, what: str) -> HttpResponse | StreamingHttpResponse:
    """CSV of failure details or daily stats for a period and one domain or all."""
    choice = period_from(request)
    if choice.error:
        return HttpResponse(
            f"{choice.error}\n", status=400, content_type="text/plain; charset=utf-8"
        )
    period = choice.period
    raw = request.GET.get("domain", "")
    ids = domain_ids(int(raw) if raw.isdigit() else None)
    rows: QuerySet[Any, tuple]
    if what == "failures":
        columns, rows = FAILURE_COLUMNS, selectors.failure_rows(ids, period)
    elif what == "daily":
        columns, rows = DAILY_COLUMNS, selectors.daily_rows(ids, period)
    else:
        raise Http404("No such export.")
    lines = csv_lines(columns, rows.iterator(chunk_size=2000))
    name = f"{request.tenant.slug}-{what}-{period.start}-{period.end}.csv"
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@tenant_view(Role.VIEWER)
def tenant_home(request: TenantRequest) -> HttpResponse:
    """The tenant's overview: a card per domain (or, with ?view=table, a table row), 50 a
    page; the onboarding checklist until it is all done."""
    choice = period_from(request)
    period = choice.period
    found = tenant_overview(
        period=period, time_zone=request.tenant.time_zone, page=request.GET.get("page") or 1
    )
    context = {
        "domains": found.others,
        "checklist": found.checklist,
        "onboarded": found.checklist.done,
        "period": period,
        "chosen": choice.chosen,
        "period_error": choice.error,
        "periods": periods.PERIODS,
        "spark_step": period.step(selectors.SPARKLINE_POINTS),
        "latest": found.latest,
        "view": "table" if request.GET.get("view") == "table" else "cards",
        "page": found.page,
        "cards": found.cards,
        "page_numbers": found.page.paginator.get_elided_page_range(found.page.number),
        "summary": found.summary,
        "alerts": found.alerts,
        "refusals": found.refusals,
    }
    return render(request, "accounts/tenant_home.html", context)
