"""Readiness to enforce for all of a tenant's domains at once, for the metrics scrape.

``reports.readiness.verdicts.domain_readiness`` answers for one domain in four queries;
a scrape of 200 domains cannot afford 800. The verdict needs less than the page shows:
the domain's MTA-STS mode, whether any blocking failure was reported in the window, and
how many reporters and days the window has. Here the modes come from rows the scrape
reads anyway (hosted policies, the latest MTA-STS checks), and the rest from two grouped
queries over the window's rollups for the domains in ``testing`` only. The rules and
thresholds are the verdicts module's own; tests/metrics checks both agree, domain by
domain. Callers are inside the tenant's scope.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping

from django.db.models import Count

from domains.hosting.models import HostedPolicy
from domains.stspolicy import RecordError, parse_sts_policy
from reports.models import DailyFailure, DailyStat, PolicyType
from reports.readiness.verdicts import (
    BOUNCING_TYPES,
    MIN_DAYS,
    MIN_REPORTERS,
    NOT_ENOUGH_DATA,
    NOT_READY,
    NOT_TESTING,
    POLICY_NOT_OBTAINED,
    READY,
    readiness_window,
)


def hosted_modes(domain_ids: list[int]) -> dict[int, str]:
    """The mode of each enabled hosted policy, by domain id (one query)."""
    rows = HostedPolicy.objects.filter(domain_id__in=domain_ids, enabled=True)
    return dict(rows.values_list("domain_id", "mode"))


def published_mode(policy: object) -> str | None:
    """The mode of a policy body fetched by an MTA-STS check; None if it has none."""
    if not isinstance(policy, str):
        return None
    try:
        return parse_sts_policy(policy).mode
    except RecordError:
        return None


def verdicts(modes: Mapping[int, str | None]) -> dict[int, str]:
    """Each domain's verdict, given its MTA-STS mode (hosted first, else published)."""
    testing = [pk for pk, mode in modes.items() if mode == "testing"]
    found = {pk: NOT_TESTING for pk in modes}
    if testing:
        blocked = _blocked(testing)
        reporters, days = _coverage(testing)
        for pk in testing:
            enough = reporters[pk] >= MIN_REPORTERS and days[pk] >= MIN_DAYS
            found[pk] = NOT_READY if pk in blocked else READY if enough else NOT_ENOUGH_DATA
    return found


def _blocked(ids: Iterable[int]) -> set[int]:
    window = readiness_window()
    rows = DailyFailure.objects.filter(
        domain_id__in=ids,
        policy_type=PolicyType.STS,
        day__range=(window.start, window.end),
        result_type__in=BOUNCING_TYPES | POLICY_NOT_OBTAINED,
        count__gt=0,
    )
    return set(rows.values_list("domain_id", flat=True).distinct().order_by())


def _coverage(ids: Iterable[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Per domain: its reporters and its days with reports under sts in the window."""
    window = readiness_window()
    rows = (
        DailyStat.objects.filter(
            domain_id__in=ids, policy_type=PolicyType.STS, day__range=(window.start, window.end)
        )
        .values_list("domain_id")
        .annotate(orgs=Count("organization", distinct=True), days=Count("day", distinct=True))
        .order_by()
    )
    reporters: dict[int, int] = defaultdict(int)
    days: dict[int, int] = defaultdict(int)
    for pk, orgs, n in rows:
        reporters[pk], days[pk] = orgs, n
    return reporters, days
