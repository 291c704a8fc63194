"""The tenant overview: a card (or table row) per verified domain, worst first and 50 a
page, a summary strip over all of them, the open alerts and the "Getting started"
checklist, read in a fixed number of queries whatever the number of domains.

The figures of every verified domain are read at once from the rollups (the summary
and the order across pages need them all); DNS checks and hosted policies only for
the page's domains. Callers are inside the tenant's scope.
"""

from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Page, Paginator

from domains.hosting.models import HostedPolicy
from domains.models import CheckKind, Domain
from domains.selectors import latest_checks, problems
from reports.dashboards.onboarding import Checklist, checklist
from reports.dashboards.overview_cards import (
    DomainCard,
    TenantSummary,
    mta_sts_of,
    summed,
    worst_first,
)
from reports.dashboards.periods import Period, latest_period
from reports.dashboards.selectors import SPARKLINE_POINTS, DomainSummary, overview
from reports.inbound.refusals import RefusalLine, refusals_recent
from reports.models import Alert

# Open alerts shown at the top of the overview, newest first.
ALERTS_SHOWN = 50
PER_PAGE = 50  # cards (or table rows) a page


@dataclass(frozen=True)
class TenantOverview:
    page: Page  # of DomainSummary: verified domains, worst first
    cards: list[DomainCard]  # the page's
    summary: TenantSummary
    others: list[Domain]  # the domains the cards do not show (all of them while none do)
    checklist: Checklist
    latest: Period | None  # when the period shows no sessions but older days do
    alerts: list[Alert]
    refusals: list[RefusalLine]  # mail the doors refused lately, past a limit


def tenant_overview(*, period: Period, time_zone: str, page: str | int = 1) -> TenantOverview:
    domains = list(Domain.objects.select_related("hosted_policy").order_by("name"))
    verified = [d for d in domains if d.is_verified]
    summaries = worst_first(overview(verified, period))
    shown = Paginator(summaries, PER_PAGE).get_page(page)
    alerts = list(
        Alert.objects.filter(resolved_at=None)
        .select_related("domain")
        .order_by("-opened_at")[:ALERTS_SHOWN]
    )
    return TenantOverview(
        page=shown,
        cards=_cards(list(shown.object_list), period.step(SPARKLINE_POINTS)),
        summary=_summary(domains, summaries, alerts),
        others=[d for d in domains if not d.is_verified] if summaries else domains,
        checklist=checklist(domains),
        latest=latest_period(
            latest=max((s.last_report_day for s in summaries if s.last_report_day), default=None),
            shown=period,
            sessions=sum(s.totals.sessions for s in summaries),
            time_zone=time_zone,
        ),
        alerts=alerts,
        refusals=refusals_recent(),
    )


def _cards(summaries: list[DomainSummary], step: str) -> list[DomainCard]:
    """The page's cards: one query (their DNS checks) for all of them."""
    checks = latest_checks([s.domain for s in summaries])
    return [
        DomainCard(
            summary=s,
            step=step,
            problems=problems(checks[s.domain.pk]),
            mta_sts=mta_sts_of(checks[s.domain.pk].get(CheckKind.MTA_STS), _hosted_mode(s.domain)),
        )
        for s in summaries
    ]


def _hosted_mode(domain: Domain) -> str | None:
    """The mode of the MTA-STS policy we serve for ``domain`` (read with it), if we do."""
    try:
        policy: HostedPolicy = domain.hosted_policy
    except ObjectDoesNotExist:
        return None
    return policy.mode if policy.enabled else None


def _summary(
    domains: list[Domain], summaries: list[DomainSummary], alerts: list[Alert]
) -> TenantSummary:
    open_alerts = len(alerts)
    if open_alerts == ALERTS_SHOWN:  # there may be more than the page lists
        open_alerts = Alert.objects.filter(resolved_at=None).count()
    return TenantSummary(
        domains=len(domains),
        verified=len(summaries),
        totals=summed(s.totals for s in summaries),
        previous=summed(s.previous for s in summaries),
        open_alerts=open_alerts,
    )
