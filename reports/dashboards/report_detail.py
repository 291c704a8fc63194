"""A report's sessions as the tenant's numbers count them: those counted for its verified
domains, and those not counted, with the domain each uncounted policy named.

A report's own ``successful``/``failed`` (set at ingest) add up every policy of the report
once (the ``sts`` side of a session reported under both ``tlsa`` and ``sts`` left out),
whatever domain the policy names. Only a policy attributed to one of the tenant's
verified domains (``PolicyResult.domain``) reaches the rollups that every other reader
uses; a policy for another team's domain, or one this team had not verified when the
report arrived, is stored with the report but counts nowhere. The report pages say
which is which, from the same rule as the rollups. Callers are inside the tenant's scope.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q, Sum

from reports.models import PolicyResult, Report


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


def counted_sessions(report_ids: Iterable[int]) -> dict[int, ReportSessions]:
    """Counted sessions of several reports, in one query (for lists); the uncounted
    policies are summed into one entry of no particular domain."""
    counted = Q(domain__isnull=False)
    rows = (
        PolicyResult.objects.filter(report_id__in=list(report_ids), counted=True)
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
    sessions = counted_sessions(r.pk for r in reports)
    return [(r, sessions.get(r.pk, ReportSessions())) for r in reports]
