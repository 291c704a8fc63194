"""The reports a filter selects: one meaning for the reports page and the API.

Every condition is optional: a domain (id), a sending organization, a policy type, a
result type, the first and last report day, with or without failures, the inbound
message that carried the reports (id: the ingest log's "its N reports"). The policy
conditions hold for one and the same policy of a report: a domain with a result type is
"failures of that type on that domain", not a report covering the domain with that failure
on another of its domains; "with failures" next to a domain or policy type means failed
sessions under that domain's (or type's) policies, otherwise the report's own total.
Newest first: report day, then id, both descending.

The page's list reads one page at a time (``report_page``): one domain walks the
policies' (domain, day) index, a few rows per report; other filters let the database
walk the reports newest first and probe each one's policies (EXISTS) until the page is
full. The API pages ``reports_matching`` with its own cursor. Callers are inside the
tenant's scope.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet

from domains.models import Domain
from reports.dashboards.periods import bounds_parse
from reports.models import FailureDetail, PolicyResult, Report

PAGE = 50
PARAMETERS = (
    "domain", "organization", "policy_type", "result_type", "failures", "has_failures", "inbound",
)  # fmt: skip
TRUE, FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


@dataclass(frozen=True)
class ReportFilters:
    domain: int | None = None
    organization: str = ""
    policy_type: str = ""
    result_type: str = ""
    start: date | None = None
    end: date | None = None
    failures: bool | None = None  # True: with failed sessions, False: without, None: either
    inbound: int | None = None  # the message that carried them

    @property
    def by_policy(self) -> bool:
        """Whether "with failures" reads the chosen policies rather than the report."""
        return self.domain is not None or bool(self.policy_type)


def report_filters_parse(params: Mapping[str, str]) -> tuple[ReportFilters, dict[str, str]]:
    """The filters of a query string, and what is wrong with any (parameter -> message).

    Empty values are no condition. ``failures`` (the page's checkbox: yes) and
    ``has_failures`` (the API: true or false) are one flag.
    """
    text = {name: params.get(name, "").strip() for name in PARAMETERS}
    errors: dict[str, str] = {}
    for name, what in (("domain", "domain"), ("inbound", "message")):
        if text[name] and not text[name].isdigit():
            errors[name] = f"Give a {what} id."
    for name in ("organization", "policy_type", "result_type"):
        if "\x00" in text[name]:  # no stored text holds one (PostgreSQL refuses them)
            errors[name] = "Null characters are not allowed."
            text[name] = text[name].replace("\x00", "")
    failures: bool | None = None
    for name in ("failures", "has_failures"):
        value = text[name].lower()
        if value in TRUE | FALSE:
            failures = value in TRUE
        elif value:
            errors[name] = "Give true or false."
    bounds = bounds_parse(params=params)
    errors.update(bounds.errors)
    filters = ReportFilters(
        domain=int(text["domain"]) if text["domain"].isdigit() else None,
        organization=text["organization"],
        policy_type=text["policy_type"],
        result_type=text["result_type"],
        start=bounds.start,
        end=bounds.end,
        failures=failures,
        inbound=int(text["inbound"]) if text["inbound"].isdigit() else None,
    )
    return filters, errors


def _policies(filters: ReportFilters, *, failed: bool | None) -> QuerySet[PolicyResult]:
    """The policies meeting the policy conditions; ``failed``: only those with(out) failures."""
    policies = PolicyResult.objects.all()
    if filters.domain is not None:
        policies = policies.filter(domain_id=filters.domain)
    if filters.policy_type:
        policies = policies.filter(policy_type=filters.policy_type)
    if filters.result_type:
        policies = policies.filter(failures__result_type=filters.result_type)
    if failed is not None:
        policies = policies.filter(failed__gt=0) if failed else policies.filter(failed=0)
    return policies


def reports_matching(filters: ReportFilters) -> QuerySet[Report]:
    """Every report the filters select, newest first, without its raw JSON."""
    reports = Report.objects.defer("raw_json_gz").order_by("-day", "-pk")
    if filters.domain is not None or filters.policy_type or filters.result_type:
        with_failures = True if filters.by_policy and filters.failures else None
        matching = _policies(filters, failed=with_failures).filter(report=OuterRef("pk"))
        reports = reports.filter(Exists(matching))
    if filters.failures is False and filters.by_policy:
        failing = _policies(filters, failed=True).filter(report=OuterRef("pk"))
        reports = reports.exclude(Exists(failing))
    elif filters.failures is not None and not filters.by_policy:
        reports = reports.filter(failed__gt=0) if filters.failures else reports.filter(failed=0)
    if filters.organization:
        reports = reports.filter(organization=filters.organization)
    if filters.inbound is not None:
        reports = reports.filter(inbound_id=filters.inbound)
    if filters.start:
        reports = reports.filter(day__gte=filters.start)
    if filters.end:
        reports = reports.filter(day__lte=filters.end)
    return reports


@dataclass(frozen=True)
class ReportPage:
    reports: list[Report]
    more_after: tuple[date, int] | None  # (day, id) of the last one when more follow


def report_page(
    filters: ReportFilters, *, after: tuple[date, int] | None = None, size: int = PAGE
) -> ReportPage:
    """One page of ``reports_matching``, the next after the (day, id) ``after``."""
    if _walks_domain_policies(filters):
        rows = _page_by_domain_policies(filters, after, size)
    else:
        reports = reports_matching(filters)
        if after:
            reports = reports.filter(Q(day__lt=after[0]) | Q(day=after[0], pk__lt=after[1]))
        rows = list(reports[: size + 1])
    shown = rows[:size]
    more = len(rows) > size
    return ReportPage(shown, (shown[-1].day, shown[-1].pk) if more else None)


def _walks_domain_policies(filters: ReportFilters) -> bool:
    """One domain, with conditions its policy rows answer alone."""
    return (
        filters.domain is not None
        and not (filters.result_type or filters.organization or filters.inbound is not None)
        and filters.failures is not False  # "none failed" needs all of a report's policies
    )


def _page_by_domain_policies(
    filters: ReportFilters, after: tuple[date, int] | None, size: int
) -> list[Report]:
    """One domain's reports, newest first, walking the policies' (domain, day) index."""
    policies = _policies(filters, failed=True if filters.failures else None)
    if filters.start:
        policies = policies.filter(day__gte=filters.start)
    if filters.end:
        policies = policies.filter(day__lte=filters.end)
    if after:
        policies = policies.filter(Q(day__lt=after[0]) | Q(day=after[0], report_id__lt=after[1]))
    found = dict.fromkeys(  # a report under two policy types of the domain comes once
        policies.order_by("-day", "-report_id").values_list("report_id", "day")[: 2 * (size + 1)]
    )
    wanted = list(found)[: size + 1]
    # With their days: on PostgreSQL only those months' partitions are looked in.
    reports = Report.objects.defer("raw_json_gz").filter(
        pk__in=[pk for pk, _ in wanted], day__in={day for _, day in wanted}
    )
    return sorted(reports, key=lambda r: (r.day, r.pk), reverse=True)


def failure_details_matching(
    *, domain: int | None, organization: str, result_type: str,
    start: date | None, end: date | None,
) -> QuerySet[FailureDetail]:  # fmt: skip
    """Failure details, one row each with its policy and report (for the API's export)."""
    rows = FailureDetail.objects.select_related("policy__report").defer(
        "policy__report__raw_json_gz"
    )
    if domain is not None:
        rows = rows.filter(policy__domain_id=domain)
    if organization:
        rows = rows.filter(policy__report__organization=organization)
    if result_type:
        rows = rows.filter(result_type=result_type)
    # Each side bounded by its own day (a detail's is its policy's), so that both are read
    # only in the period's months: with a domain, 1,069 -> 49 ms at 10 M details. Not
    # joined on day as well: the planner then takes the two equalities for independent and
    # expects a few rows where there are millions (unfiltered, 5 ms -> 2.3 s).
    if start:
        rows = rows.filter(day__gte=start, policy__day__gte=start, policy__report__day__gte=start)
    if end:
        rows = rows.filter(day__lte=end, policy__day__lte=end, policy__report__day__lte=end)
    return rows


def domain_choices() -> QuerySet[Domain]:
    """The tenant's domains a filter offers, by name."""
    return Domain.objects.order_by("name")


def domain_ids(domain: int | None) -> list[int]:
    """The ids of the tenant's domains: all of them, or the one named if it is theirs."""
    domains = Domain.objects.all() if domain is None else Domain.objects.filter(pk=domain)
    return list(domains.values_list("pk", flat=True))
