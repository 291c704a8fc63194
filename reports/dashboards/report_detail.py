"""A report's sessions as the tenant's numbers count them: those counted for its verified
domains, and those not counted, with the domain each uncounted policy named.

A report's own ``successful``/``failed`` (set at ingest) add up every policy of the report
once (the ``sts`` side of a session reported under both ``tlsa`` and ``sts`` left out),
whatever domain the policy names. Only a policy attributed to one of the tenant's
verified domains (``PolicyResult.domain``) reaches the rollups that every other reader
uses; a policy for another team's domain, or one this team had not verified when the
report arrived, is stored with the report but counts nowhere. The report pages say
which is which, from the same rule as the rollups. Callers are inside the tenant's scope.

The report page reads its failure details a page at a time (``details_page``), with the
totals per result type summed by the database (``failure_type_totals``).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Q, Sum

from reports.models import FailureDetail, PolicyResult, Report


@dataclass(frozen=True)
class Uncounted:
    """A policy whose sessions count for none of the tenant's domains."""

    policy_type: str
    policy_domain: str
    successful: int
    failed: int

    @property
    def sessions(self) -> int:
        return self.successful + self.failed


@dataclass(frozen=True)
class ReportSessions:
    successful: int = 0  # counted for the tenant's verified domains
    failed: int = 0
    uncounted: list[Uncounted] = field(default_factory=list)

    @property
    def sessions(self) -> int:
        return self.successful + self.failed

    @property
    def uncounted_sessions(self) -> int:
        return sum(u.sessions for u in self.uncounted)


def report_sessions(policies: Iterable[PolicyResult]) -> ReportSessions:
    """Counted and uncounted sessions of one report, from its policies (already loaded)."""
    policies = [p for p in policies if p.counted]  # the others repeat counted sessions
    counted = [p for p in policies if p.domain_id]
    return ReportSessions(
        successful=sum(p.successful for p in counted),
        failed=sum(p.failed for p in counted),
        uncounted=[
            Uncounted(p.policy_type, p.policy_domain, p.successful, p.failed)
            for p in policies
            if not p.domain_id
        ],
    )


def counted_sessions(reports: Iterable[Report]) -> dict[int, ReportSessions]:
    """Counted sessions of several reports, in one query (for lists); the uncounted
    policies are summed into one entry of no particular domain."""
    counted = Q(domain__isnull=False)
    reports = list(reports)
    # With the reports' days: on PostgreSQL only those months' partitions are looked in.
    days = {r.day for r in reports}
    rows = (
        PolicyResult.objects.filter(
            report_id__in=[r.pk for r in reports], day__in=days, counted=True
        )
        .values("report_id")
        .annotate(
            s=Sum("successful", filter=counted),
            f=Sum("failed", filter=counted),
            us=Sum("successful", filter=~counted),
            uf=Sum("failed", filter=~counted),
        )
    )
    return {
        row["report_id"]: ReportSessions(
            successful=row["s"] or 0,
            failed=row["f"] or 0,
            uncounted=[Uncounted("", "", row["us"], row["uf"])] if row["us"] is not None else [],
        )
        for row in rows
    }


def reports_with_sessions(reports: list[Report]) -> list[tuple[Report, ReportSessions]]:
    """Each report of a list page with its counted sessions (one query for them all)."""
    sessions = counted_sessions(reports)
    return [(r, sessions.get(r.pk, ReportSessions())) for r in reports]


# The report page's failure details: one page at a time, largest first, whatever the
# report's size (a report can list 100,000 of them; the page once inlined all).
DETAILS_PAGE = 100


@dataclass(frozen=True)
class TypeTotal:
    """One result type of a report: its failure-detail rows and their failed sessions."""

    result_type: str
    rows: int
    sessions: int


@dataclass(frozen=True)
class DetailsPage:
    rows: list[FailureDetail]
    number: int  # from 1
    pages: int
    total: int  # rows of the whole selection (all types, or the chosen one)
    size: int = DETAILS_PAGE

    @property
    def first(self) -> int:
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def has_helo(self) -> bool:
        return any(r.receiving_mx_helo for r in self.rows)

    @property
    def has_reason(self) -> bool:
        return any(r.failure_reason_code or r.additional_information for r in self.rows)


def failure_type_totals(policy_ids: list[int], day: date) -> list[TypeTotal]:
    """Rows and failed sessions per result type of these policies, most sessions first,
    summed by the database (one query, however many rows)."""
    rows = (
        FailureDetail.objects.filter(policy_id__in=policy_ids, day=day)
        .values("result_type")
        .annotate(rows=Count("pk"), sessions=Sum("failed_session_count"))
        .order_by("-sessions", "result_type")
    )
    return [TypeTotal(r["result_type"], r["rows"], r["sessions"] or 0) for r in rows]


def details_page(
    policy_ids: list[int], day: date, totals: list[TypeTotal], *, result_type: str, number: int
) -> DetailsPage:
    """One page of the policies' failure details (of one result type, if given), by
    failed sessions, largest first; the page count comes from ``totals``, not a count."""
    total = sum(t.rows for t in totals if not result_type or t.result_type == result_type)
    pages = max(1, -(-total // DETAILS_PAGE))
    number = min(max(number, 1), pages)
    rows = FailureDetail.objects.filter(policy_id__in=policy_ids, day=day)
    if result_type:
        rows = rows.filter(result_type=result_type)
    start = (number - 1) * DETAILS_PAGE
    shown = list(rows.order_by("-failed_session_count", "pk")[start : start + DETAILS_PAGE])
    return DetailsPage(shown, number, pages, total)
