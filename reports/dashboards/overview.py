"""The tenant overview: every verified domain's figures, their DNS health, the open
alerts and the "Getting started" checklist, read in a fixed number of queries.

Callers are inside the tenant's scope.
"""

from dataclasses import dataclass

from domains.findings import Finding
from domains.models import Domain
from domains.selectors import latest_checks, problems
from reports.dashboards.advice import Advice, advice
from reports.dashboards.onboarding import Checklist, checklist
from reports.dashboards.periods import Period, latest_period
from reports.dashboards.selectors import DomainSummary, overview
from reports.inbound.refusals import RefusalLine, refusals_recent
from reports.models import Alert

# Open alerts shown at the top of the overview, newest first.
ALERTS_SHOWN = 50


@dataclass(frozen=True)
class DomainRow:
    summary: DomainSummary
    advice: Advice | None  # on the domain's top failure type in the period
    problems: list[tuple[str, Finding]]  # (check kind, finding) of its DNS health


@dataclass(frozen=True)
class TenantOverview:
    rows: list[DomainRow]  # verified domains, worst first
    others: list[Domain]  # the domains the rows do not show (all of them while none do)
    checklist: Checklist
    latest: Period | None  # when the period shows no sessions but older days do
    alerts: list[Alert]
    refusals: list[RefusalLine]  # mail the doors refused lately, past a limit


def tenant_overview(*, period: Period, time_zone: str) -> TenantOverview:
    domains = list(Domain.objects.order_by("name"))
    verified = [d for d in domains if d.is_verified]
    summaries = overview(verified, period)
    health = {pk: problems(checks) for pk, checks in latest_checks(verified).items()}
    rows = [
        DomainRow(s, advice(s.top_result_type) if s.top_result_type else None, health[s.domain.pk])
        for s in summaries
    ]
    latest = latest_period(
        latest=max((s.last_report_day for s in summaries if s.last_report_day), default=None),
        shown=period,
        sessions=sum(s.totals.sessions for s in summaries),
        time_zone=time_zone,
    )
    alerts = Alert.objects.filter(resolved_at=None).select_related("domain")
    return TenantOverview(
        rows=rows,
        others=[d for d in domains if not d.is_verified] if summaries else domains,
        checklist=checklist(domains),
        latest=latest,
        alerts=list(alerts.order_by("-opened_at")[:ALERTS_SHOWN]),
        refusals=refusals_recent(),
    )
