"""The numbers every page, the API and the digest show: one place computes them.

Time series and breakdowns read the daily rollups (DailyStat, DailyFailure), never the
raw reports. Domain totals use the *counted* columns, so a session reported under both
a tlsa and an sts policy (Microsoft does this) counts once; the policy-type breakdown
uses the per-policy columns. Days are UTC report days (a report counts for the day of
its start); a period is any range of them, by default the last days up to today in the
tenant's time zone; long ones are shown in buckets (``Period.step``).
Callers are inside the tenant's scope.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import (
    Case,
    DateField,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Trunc

from domains.models import Domain
from reports.dashboards.periods import Period, bucket_start
from reports.models import BreakdownKind, DailyBreakdown, DailyFailure, DailyStat, FailureDetail

SPARKLINE_POINTS = 92  # the overview's failed sessions: one a day up to 90 days
CHART_POINTS = 120  # the dashboard's chart and heatmaps: days up to 120, then weeks (2 years)


def _bucket(step: str) -> F | Trunc:
    """The SQL expression of a rollup row's bucket (Trunc is portable: SQLite and PostgreSQL)."""
    if step == "day":
        return F("day")
    kind = "year" if step.endswith(" years") else step  # years are grouped by bucket_start
    return Trunc("day", kind, output_field=DateField())


@dataclass
class Totals:
    successful: int = 0
    failed: int = 0

    @property
    def sessions(self) -> int:
        return self.successful + self.failed

    @property
    def success_rate(self) -> float | None:
        """Percent of sessions that succeeded; None without sessions."""
        return round(100 * self.successful / self.sessions, 2) if self.sessions else None


@dataclass
class DomainSummary:
    domain: Domain
    totals: Totals
    previous: Totals
    daily: list[Totals | None]  # per bucket of the period; None: no reports in it
    last_report_day: date | None
    top_result_type: str | None

    @property
    def daily_failed(self) -> list[int]:
        return [t.failed if t else 0 for t in self.daily]

    @property
    def failed_change(self) -> int:
        return self.totals.failed - self.previous.failed


@dataclass
class DayPoint:
    day: date
    totals: Totals = field(default_factory=Totals)
    reported: bool = False  # any report for the day (or bucket): a gap on the chart if not


def totals_of(rows: dict) -> Totals:
    return Totals(rows.get("s") or 0, rows.get("f") or 0)


def domain_totals(domain: Domain, period: Period) -> Totals:
    rows = DailyStat.objects.filter(period.q(), domain=domain).aggregate(
        s=Sum("counted_successful"), f=Sum("counted_failed")
    )
    return totals_of(rows)


def overview(domains: list[Domain], period: Period) -> list[DomainSummary]:
    """Every domain with its figures for ``period``, worst (most failed sessions) first."""
    ids = [d.pk for d in domains]
    step = period.step(SPARKLINE_POINTS)
    now, before, daily = _sums_by_bucket(ids, period, step)
    # One index lookup per domain (the rollup's unique key starts with domain, day).
    last = dict(
        Domain.objects.filter(pk__in=ids)
        .annotate(
            last=Subquery(
                DailyStat.objects.filter(domain=OuterRef("pk")).order_by("-day").values("day")[:1]
            )
        )
        .values_list("pk", "last")
    )
    top = _top_result_types(ids, period)
    starts = period.buckets(step)  # the same for every domain
    summaries = [
        DomainSummary(
            domain=d,
            totals=now[d.pk],
            previous=before[d.pk],
            daily=[daily[d.pk].get(start) for start in starts],
            last_report_day=last.get(d.pk),
            top_result_type=top.get(d.pk),
        )
        for d in domains
    ]
    return sorted(summaries, key=lambda s: (-s.totals.failed, s.domain.name))


def _sums_by_bucket(ids: list[int], period: Period, step: str) -> tuple[dict, dict, dict]:
    """Per domain: totals of ``period`` and of the one before, and of each bucket reported.

    One scan of the rollups, summed in the database by (domain, bucket); the previous
    period's rows all fall in one bucket, NULL. A range of years costs at most
    ``SPARKLINE_POINTS`` rows per domain.
    """
    bucket = Case(When(day__lt=period.start, then=Value(None)), default=_bucket(step))
    rows = (
        DailyStat.objects.filter(Period(period.previous().start, period.end).q(), domain_id__in=ids)
        .annotate(bucket=bucket)
        .values("domain_id", "bucket")
        .annotate(s=Sum("counted_successful"), f=Sum("counted_failed"))
        .order_by()
        .values_list("domain_id", "bucket", "s", "f")
    )
    now: dict[int, Totals] = defaultdict(Totals)
    before: dict[int, Totals] = defaultdict(Totals)
    daily: dict[int, dict[date, Totals]] = defaultdict(lambda: defaultdict(Totals))
    for domain_id, start, successful, failed in rows:
        kept = [before[domain_id]] if start is None else [now[domain_id]]
        if start is not None:
            kept.append(daily[domain_id][_as_bucket(start, step)])
        for totals in kept:
            totals.successful += successful or 0
            totals.failed += failed or 0
    return now, before, daily


def _as_bucket(value: date | datetime, step: str) -> date:
    """The bucket of a grouped row (SQLite may answer Trunc with a datetime)."""
    return bucket_start(value.date() if isinstance(value, datetime) else value, step)


def _top_result_types(ids: list[int], period: Period) -> dict[int, str]:
    rows = (
        DailyFailure.objects.filter(period.q(), domain_id__in=ids)
        .values("domain_id", "result_type")
        .annotate(n=Sum("counted"))
        .order_by("domain_id", "-n", "result_type")
        .values_list("domain_id", "result_type", "n")
    )
    top: dict[int, str] = {}
    for domain_id, result_type, n in rows:
        if n and domain_id not in top:
            top[domain_id] = result_type
    return top


def daily_series(domain: Domain, period: Period) -> list[DayPoint]:
    """One point per day of ``period`` (zero when nothing was reported)."""
    return daily_series_for([domain], period)


def daily_series_for(domains: list[Domain], period: Period) -> list[DayPoint]:
    """``daily_series`` summed over several domains."""
    rows = (
        DailyStat.objects.filter(period.q(), domain__in=domains)
        .values("day")
        .annotate(s=Sum("counted_successful"), f=Sum("counted_failed"))
    )
    by_day = {r["day"]: totals_of(r) for r in rows}
    return [DayPoint(day, by_day.get(day, Totals()), day in by_day) for day in period.each_day()]


def series_for(
    domains: list[Domain], period: Period, max_points: int
) -> tuple[str, list[DayPoint]]:
    """``daily_series_for`` in at most ``max_points`` points: by day, week, month or year.

    Returns the step and one point per bucket (its first day, or the period's start),
    so a range of years reads a few hundred rows from the database, not one per day.
    """
    step = period.step(max_points)
    rows = (
        DailyStat.objects.filter(period.q(), domain__in=domains)
        .annotate(bucket=_bucket(step))
        .values("bucket")
        .annotate(s=Sum("counted_successful"), f=Sum("counted_failed"))
        .order_by()
    )
    by_bucket: dict[date, Totals] = defaultdict(Totals)
    for row in rows:
        totals = by_bucket[_as_bucket(row["bucket"], step)]
        totals.successful += row["s"] or 0
        totals.failed += row["f"] or 0
    return step, [
        DayPoint(max(start, period.start), by_bucket.get(start, Totals()), start in by_bucket)
        for start in period.buckets(step)
    ]


BREAKDOWNS = {
    "result_type": "Result type",
    "receiving_mx": "Receiving MX",
    "organization": "Sending organization",
}


def failures_by(domain: Domain, period: Period, key: str) -> list[tuple[str, int]]:
    """Failed sessions by result type, MX or organization, largest first."""
    if key not in BREAKDOWNS:
        raise ValueError(f"Unknown breakdown {key!r}")
    rows = (
        DailyFailure.objects.filter(period.q(), domain=domain)
        .values(key)
        .annotate(n=Sum("counted"))
        .filter(n__gt=0)
        .order_by("-n", key)
        .values_list(key, "n")
    )
    return list(rows)


def failures_by_policy_type(domain: Domain, period: Period) -> list[tuple[str, Totals]]:
    """Per policy type as reported: a session under both tlsa and sts shows in both."""
    rows = (
        DailyStat.objects.filter(period.q(), domain=domain)
        .values("policy_type")
        .annotate(s=Sum("successful"), f=Sum("failed"))
        .order_by("policy_type")
    )
    return [(r["policy_type"], totals_of(r)) for r in rows]


def failures_by_sending_ip(
    domain: Domain, period: Period, limit: int = 50
) -> list[tuple[str, int]]:
    """Failed sessions by sending MTA IP, largest first (counted sessions)."""
    return _breakdown(domain, period, BreakdownKind.SENDING_IP, limit)


def failure_reasons(domain: Domain, period: Period, limit: int = 20) -> list[tuple[str, int]]:
    """Failed sessions by failure-reason-code, largest first (counted sessions)."""
    return _breakdown(domain, period, BreakdownKind.REASON, limit)


def _breakdown(
    domain: Domain, period: Period, kind: BreakdownKind, limit: int
) -> list[tuple[str, int]]:
    rows = (
        DailyBreakdown.objects.filter(period.q(), domain=domain, kind=kind)
        .values("value")
        .annotate(n=Sum("counted"))
        .filter(n__gt=0)
        .order_by("-n", "value")
        .values_list("value", "n")[:limit]
    )
    return list(rows)


def failure_rows(domain_ids: list[int], period: Period) -> QuerySet[FailureDetail, tuple]:
    """Failure details of ``period`` for export, one row each, with their report's facts."""
    return (
        # Details and policies bounded by their own day, each read only in the period's
        # months on PostgreSQL; a report found by its policy's day too, so that only its
        # month's partition is looked in (90 days of a domain at 10 M: 375 ms bounding the
        # reports by the period, which the planner reads whole, 175 ms by id alone, 30 ms).
        FailureDetail.objects.filter(
            period.q("policy__"), period.q(),
            policy__domain_id__in=domain_ids, policy__report__day=F("policy__day"),
        )
        .order_by("policy__report__day", "policy__report_id", "pk")
        .values_list(
            "policy__report__day", "policy__domain__name", "policy__report__organization",
            "policy__report__report_id", "policy__policy_type", "policy__counted",
            "result_type", "sending_mta_ip", "receiving_mx_hostname", "receiving_mx_helo",
            "receiving_ip", "failed_session_count", "failure_reason_code",
            "additional_information",
        )
    )  # fmt: skip


def daily_rows(domain_ids: list[int], period: Period) -> QuerySet[DailyStat, tuple]:
    """Daily stats of ``period`` for export, per domain, organization and policy type."""
    return (
        DailyStat.objects.filter(period.q(), domain_id__in=domain_ids)
        .order_by("day", "domain__name", "organization", "policy_type")
        .values_list(
            "day", "domain__name", "organization", "policy_type", "successful", "failed",
            "counted_successful", "counted_failed", "reports",
        )
    )  # fmt: skip
