"""Dashboards: the tenant overview's figures, a domain's dashboard, reports and details."""

import base64
import csv
import json
from datetime import date

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.models import Role
from accounts.tenancy import tenant_view
from domains.models import Domain
from domains.selectors import changes as dns_changes
from reports.dashboards import selectors
from reports.dashboards.advice import advice, reason
from reports.dashboards.overview import tenant_overview
from reports.dashboards.periods import PeriodChoice, latest_period, period_parse
from reports.models import PolicyResult, Report


def period_from(request: HttpRequest) -> PeriodChoice:
    """The period asked for (reports.dashboards.periods), in the tenant's time zone."""
    return period_parse(params=request.GET, time_zone=request.tenant.time_zone)


@tenant_view(Role.VIEWER)
def domain_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    domain = get_object_or_404(Domain, pk=pk)
    choice = period_from(request)
    period = choice.period
    step, series = selectors.series_for([domain], period, selectors.CHART_POINTS)
    by_type = selectors.failures_by(domain, period, "result_type")
    changes = dns_changes(domain, period.start, period.end)
    raw = selectors.raw_window(period)
    totals = selectors.domain_totals(domain, period)
    last_day = selectors.last_report_day(domain)
    context = {
        "domain": domain,
        "period": period,
        "chosen": choice.chosen,
        "period_error": choice.error,
        "periods": selectors.PERIODS,
        "totals": totals,
        "previous": selectors.domain_totals(domain, period.previous()),
        "series": series,
        "step": step,
        "chart": {
            "days": [p.day.isoformat() for p in series],
            "successful": [p.totals.successful for p in series],
            "failed": [p.totals.failed for p in series],
            "rate": [p.totals.success_rate for p in series],
            "dns_changes": _change_marks(changes, [p.day for p in series]),
        },
        "dns_changes": changes,
        "by_type": [(t, n, advice(t, domain.name)) for t, n in by_type],
        "by_mx": selectors.failures_by(domain, period, "receiving_mx"),
        "by_org": selectors.failures_by(domain, period, "organization"),
        "by_policy": selectors.failures_by_policy_type(domain, period),
        "raw": raw,
        "by_ip": selectors.failures_by_sending_ip(domain, raw.period) if raw.period else [],
        "reasons": [
            (code, n, reason(code, domain.name))
            for code, n in (selectors.failure_reasons(domain, raw.period) if raw.period else [])
        ],
        "organizations": selectors.organizations(domain, period),
        "last_report_day": last_day,
        "latest": latest_period(
            latest=last_day,
            shown=period,
            sessions=totals.sessions,
            time_zone=request.tenant.time_zone,
        ),
    }
    return render(request, "reports/domain_dashboard.html", context)


def _change_marks(changes: list, points: list[date]) -> dict[str, list[str]]:
    """Point (its first day, ISO) -> what changed in it, for the chart's markers."""
    marks: dict[str, list[str]] = {}
    for check in changes:
        text = f"{check.get_kind_display()}: {check.previous_status} → {check.status}"
        day = check.checked_at.date()
        point = max((p for p in points if p <= day), default=day)
        marks.setdefault(point.isoformat(), []).append(text)
    return marks


PAGE = 50


def _cursor(report: Report) -> str:
    raw = f"{report.day.isoformat()}|{report.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def _after(cursor: str) -> tuple[date, int] | None:
    try:
        day, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return date.fromisoformat(day), int(pk)
    except (ValueError, UnicodeDecodeError):
        return None


@tenant_view(Role.VIEWER)
def report_list(request: HttpRequest) -> HttpResponse:
    from django.db.models import Q

    reports = Report.objects.defer("raw_json_gz").order_by("-day", "-pk")
    filters = {
        k: request.GET.get(k, "").strip()
        for k in ("domain", "organization", "result_type", "from", "to", "failures")
    }
    policies = PolicyResult.objects.all()
    if filters["domain"].isdigit():
        policies = policies.filter(domain_id=int(filters["domain"]))
    if filters["result_type"]:
        policies = policies.filter(failures__result_type=filters["result_type"])
    if filters["failures"] == "yes":
        # With a domain: failures on that domain; the report's own figure otherwise.
        if filters["domain"].isdigit():
            policies = policies.filter(failed__gt=0)
        else:
            reports = reports.filter(failed__gt=0)
    if filters["domain"].isdigit() or filters["result_type"]:
        reports = reports.filter(pk__in=policies.values("report_id"))
    if filters["organization"]:
        reports = reports.filter(organization=filters["organization"])
    date_errors = []
    for key, lookup in (("from", "day__gte"), ("to", "day__lte")):
        try:
            reports = reports.filter(**{lookup: date.fromisoformat(filters[key])})
        except ValueError:
            if filters[key]:  # said on the page, never dropped silently
                date_errors.append(f"“{filters[key]}” is not a date: give dates as YYYY-MM-DD.")
            filters[key] = ""
    if filters["from"] and filters["to"] and filters["to"] < filters["from"]:
        date_errors.append(
            f"The period ends ({filters['to']}) before it starts ({filters['from']})."
        )
    after = _after(request.GET.get("after", ""))
    if filters["domain"].isdigit() and not (filters["result_type"] or filters["organization"]):
        page = _page_by_domain_policies(policies, filters, after)
    else:
        if after:
            reports = reports.filter(Q(day__lt=after[0]) | Q(day=after[0], pk__lt=after[1]))
        page = list(reports[: PAGE + 1])
    more = len(page) > PAGE
    page = page[:PAGE]
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    context = {
        "reports": page,
        "next_cursor": _cursor(page[-1]) if more else None,
        "filters": filters,
        "date_errors": date_errors,
        "query": query,
        "domains": Domain.objects.order_by("name"),
        "organizations": selectors.organization_names(request.tenant.pk),
    }
    return render(request, "reports/report_list.html", context)


def _page_by_domain_policies(policies, filters: dict, after: tuple | None) -> list[Report]:
    """One domain's reports, newest first, walking the policies' (domain, day) index."""
    from django.db.models import Q

    for key, lookup in (("from", "day__gte"), ("to", "day__lte")):
        if filters[key]:
            policies = policies.filter(**{lookup: date.fromisoformat(filters[key])})
    if after:
        policies = policies.filter(Q(day__lt=after[0]) | Q(day=after[0], report_id__lt=after[1]))
    ids = list(
        dict.fromkeys(  # a report under two policy types of the domain comes once
            policies.order_by("-day", "-report_id").values_list("report_id", flat=True)[
                : 2 * (PAGE + 1)
            ]
        )
    )[: PAGE + 1]
    reports = Report.objects.defer("raw_json_gz").filter(pk__in=ids)
    return sorted(reports, key=lambda r: (r.day, r.pk), reverse=True)


@tenant_view(Role.VIEWER)
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(Report, pk=pk)
    policies = report.policies.select_related("domain").prefetch_related("failures")
    pretty = json.dumps(json.loads(report.raw_json), indent=2, ensure_ascii=False)
    context = {"report": report, "policies": policies, "pretty": pretty}
    return render(request, "reports/report_detail.html", context)


@tenant_view(Role.VIEWER)
def report_raw(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(Report.objects.only("raw_json_gz", "report_id"), pk=pk)
    response = HttpResponse(report.raw_json, content_type="application/json")
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in report.report_id)[:100]
    response["Content-Disposition"] = f'attachment; filename="{name or report.pk}.json"'
    return response


FAILURE_COLUMNS = [
    "day", "domain", "organization", "report_id", "policy_type", "counted", "result_type",
    "sending_mta_ip", "receiving_mx_hostname", "receiving_mx_helo", "receiving_ip",
    "failed_session_count", "failure_reason_code", "additional_information",
]  # fmt: skip
DAILY_COLUMNS = [
    "day", "domain", "organization", "policy_type", "successful", "failed",
    "counted_successful", "counted_failed", "reports",
]  # fmt: skip


@tenant_view(Role.VIEWER)
def export_csv(request: HttpRequest, what: str) -> HttpResponse | StreamingHttpResponse:
    """CSV of failure details or daily stats for a period and one domain or all."""
    choice = period_from(request)
    if choice.error:
        return HttpResponse(
            f"{choice.error}\n", status=400, content_type="text/plain; charset=utf-8"
        )
    period = choice.period
    domains = Domain.objects.all()
    if request.GET.get("domain", "").isdigit():
        domains = domains.filter(pk=int(request.GET["domain"]))
    ids = list(domains.values_list("pk", flat=True))
    if what == "failures":
        columns, rows = FAILURE_COLUMNS, selectors.failure_rows(ids, period)
    elif what == "daily":
        columns, rows = DAILY_COLUMNS, selectors.daily_rows(ids, period)
    else:
        raise Http404("No such export.")
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(columns)
        for row in rows.iterator(chunk_size=2000):
            yield writer.writerow(row)

    name = f"{request.tenant.slug}-{what}-{period.start}-{period.end}.csv"
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class _Echo:
    """A file-like object csv.writer writes a line to and gets it back from."""

    def write(self, value: str) -> str:
        return value


@tenant_view(Role.VIEWER)
def tenant_home(request: HttpRequest) -> HttpResponse:
    """The tenant's overview, with the onboarding checklist until it is all done."""
    choice = period_from(request)
    period = choice.period
    found = tenant_overview(period=period, time_zone=request.tenant.time_zone)
    context = {
        "domains": found.others,
        "checklist": found.checklist,
        "onboarded": found.checklist.done,
        "period": period,
        "chosen": choice.chosen,
        "period_error": choice.error,
        "periods": selectors.PERIODS,
        "spark_step": period.step(selectors.SPARKLINE_POINTS),
        "latest": found.latest,
        "summaries": [(row.summary, row.advice, row.problems) for row in found.rows],
        "alerts": found.alerts,
    }
    return render(request, "accounts/tenant_home.html", context)
