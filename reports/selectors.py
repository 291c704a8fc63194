"""The numbers every page, the API and the digest show: one place computes them.

Time series and breakdowns read the daily rollups (DailyStat, DailyFailure), never the
raw reports. Domain totals use the *counted* columns, so a session reported under both
a tlsa and an sts policy (Microsoft does this) counts once; the policy-type breakdown
uses the per-policy columns. Days are UTC report days (a report counts for the day of
its start); a period is a range of them ending today in the tenant's time zone.
Callers are inside the tenant's scope.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Max, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from domains.models import Domain
from reports.models import DailyFailure, DailyStat, FailureDetail, PolicyResult, Report

PERIODS = (7, 30, 90)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @classmethod
    def last(cls, days: int, time_zone: str, today: date | None = None) -> "Period":
        today = today or datetime.now(ZoneInfo(time_zone)).date()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def each_day(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def q(self, prefix: str = "") -> Q:
        return Q(**{f"{prefix}day__gte": self.start, f"{prefix}day__lte": self.end})


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
    daily_failed: list[int]
    last_report_day: date | None
    top_result_type: str | None

    @property
    def failed_change(self) -> int:
        return self.totals.failed - self.previous.failed


@dataclass
class DayPoint:
    day: date
    totals: Totals = field(default_factory=Totals)


def _totals(rows: dict) -> Totals:
    return Totals(rows.get("s") or 0, rows.get("f") or 0)


def domain_totals(domain: Domain, period: Period) -> Totals:
    rows = DailyStat.objects.filter(period.q(), domain=domain).aggregate(
        s=Sum("counted_successful"), f=Sum("counted_failed")
    )
    return _totals(rows)


def overview(domains: list[Domain], period: Period) -> list[DomainSummary]:
    """Every domain with its figures for ``period``, worst (most failed sessions) first."""
    ids = [d.pk for d in domains]
    both = Period(period.previous().start, period.end)
    stats = DailyStat.objects.filter(both.q(), domain_id__in=ids).values_list(
        "domain_id", "day", "counted_successful", "counted_failed"
    )
    now, before = defaultdict(Totals), defaultdict(Totals)
    daily: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for domain_id, day, successful, failed in stats:
        bucket = now if day >= period.start else before
        bucket[domain_id].successful += successful
        bucket[domain_id].failed += failed
        if day >= period.start:
            daily[domain_id][day] += failed
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
    summaries = [
        DomainSummary(
            domain=d,
            totals=now[d.pk],
            previous=before[d.pk],
            daily_failed=[daily[d.pk].get(day, 0) for day in period.each_day()],
            last_report_day=last.get(d.pk),
            top_result_type=top.get(d.pk),
        )
        for d in domains
    ]
    return sorted(summaries, key=lambda s: (-s.totals.failed, s.domain.name))


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
    by_day = {r["day"]: _totals(r) for r in rows}
    return [DayPoint(day, by_day.get(day, Totals())) for day in period.each_day()]


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
    return [(r["policy_type"], _totals(r)) for r in rows]


def failures_by_sending_ip(
    domain: Domain, period: Period, limit: int = 50
) -> list[tuple[str, int]]:
    """Failed sessions by sending MTA IP: from the raw failure details (not rolled up)."""
    rows = (
        FailureDetail.objects.filter(
            period.q("policy__"), policy__domain=domain, policy__counted=True
        )
        .values("sending_mta_ip")
        .annotate(n=Sum("failed_session_count"))
        .order_by("-n", "sending_mta_ip")
        .values_list("sending_mta_ip", "n")[:limit]
    )
    return list(rows)


def failure_reasons(domain: Domain, period: Period, limit: int = 20) -> list[tuple[str, int]]:
    """Failed sessions by failure-reason-code, from the raw failure details."""
    rows = (
        FailureDetail.objects.filter(
            period.q("policy__"), policy__domain=domain, policy__counted=True
        )
        .exclude(failure_reason_code="")
        .values("failure_reason_code")
        .annotate(n=Sum("failed_session_count"))
        .order_by("-n", "failure_reason_code")
        .values_list("failure_reason_code", "n")[:limit]
    )
    return list(rows)


def failure_rows(domain_ids: list[int], period: Period):
    """Failure details of ``period`` for export, one row each, with their report's facts."""
    return (
        FailureDetail.objects.filter(period.q("policy__"), policy__domain_id__in=domain_ids)
        .order_by("policy__report__day", "policy__report_id", "pk")
        .values_list(
            "policy__report__day", "policy__domain__name", "policy__report__organization",
            "policy__report__report_id", "policy__policy_type", "policy__counted",
            "result_type", "sending_mta_ip", "receiving_mx_hostname", "receiving_mx_helo",
            "receiving_ip", "failed_session_count", "failure_reason_code",
            "additional_information",
        )
    )  # fmt: skip


def daily_rows(domain_ids: list[int], period: Period):
    """Daily stats of ``period`` for export, per domain, organization and policy type."""
    return (
        DailyStat.objects.filter(period.q(), domain_id__in=domain_ids)
        .order_by("day", "domain__name", "organization", "policy_type")
        .values_list(
            "day", "domain__name", "organization", "policy_type", "successful", "failed",
            "counted_successful", "counted_failed", "reports",
        )
    )  # fmt: skip


@dataclass
class OrganizationRow:
    organization: str
    totals: Totals
    last_day: date
    silent: bool


def organizations(domain: Domain, period: Period, silent_after: int = 3) -> list[OrganizationRow]:
    """Who reports on the domain; silent: reported before but not in the last few days."""
    rows = (
        DailyStat.objects.filter(domain=domain, day__lte=period.end)
        .values("organization")
        .annotate(
            s=Sum("counted_successful", filter=period.q()),
            f=Sum("counted_failed", filter=period.q()),
            last=Max("day"),
        )
        .order_by("organization")
    )
    cutoff = period.end - timedelta(days=silent_after)
    result = [
        OrganizationRow(r["organization"], _totals(r), r["last"], r["last"] < cutoff)
        for r in rows
        if r["last"] >= period.previous().start
    ]
    return sorted(result, key=lambda r: (-r.totals.sessions, r.organization))


def last_report_day(domain: Domain) -> date | None:
    """The newest report day of the domain (an index lookup on the policies)."""
    return (
        PolicyResult.objects.filter(domain=domain)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )


def organization_names(tenant_id: int) -> list[str]:
    """Every sending organization of the tenant, by a loose index scan.

    One index probe per organization on the report key (tenant, organization, ...),
    instead of reading every report.
    """
    sql = f"""
        WITH RECURSIVE orgs(name) AS (
            (SELECT organization FROM {_REPORTS} WHERE tenant_id = %s
             ORDER BY organization LIMIT 1)
            UNION ALL
            SELECT (SELECT r.organization FROM {_REPORTS} r
                    WHERE r.tenant_id = %s AND r.organization > orgs.name
                    ORDER BY r.organization LIMIT 1)
            FROM orgs WHERE orgs.name IS NOT NULL
        )
        SELECT name FROM orgs WHERE name IS NOT NULL
    """  # noqa: S608 -- the table name is the model's
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant_id, tenant_id])
        return [name for (name,) in cursor.fetchall()]


_REPORTS = Report._meta.db_table


def today_in(time_zone: str) -> date:
    return timezone.now().astimezone(ZoneInfo(time_zone)).date()
