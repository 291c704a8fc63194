"""A tenant's metrics, labelled by domain, for its own Prometheus (``GET /api/v1/metrics``).

Each scrape reads the rollups and the few tables it needs, one grouped query per family
(two families may share one), whatever the number of domains: no state lives in the
process, so every web process answers the same figures. The session and failure counters
sum every stored day; the days before the last ``RECENT_DAYS`` change only when a late
report arrives, so their sums are kept an hour in the shared cache (per tenant and
cut-off day) and each scrape adds the recent days to them: a scrape reads a week of
rollups, not years. A late report for an older day shows within the hour; the counters
only grow meanwhile. Sessions are counters over every
stored day (they fall back only when retention deletes old rollups, which Prometheus
reads as a counter reset). ``tlsrpt_domain_*`` count a session once as the dashboard and
``stats/daily`` do; ``tlsrpt_policy_*`` as reported under each policy type, so a
session reported under both tlsa and sts shows in both. Callers are inside the tenant's
scope.
"""

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Max, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from domains.models import CheckStatus, DnsCheck, Domain
from reports.metrics import readiness
from reports.models import Alert, DailyFailure, DailyStat

RECENT_DAYS = 7
HISTORY_SECONDS = 3600


def _add(sums: list[int], ok: int | None, failed: int | None) -> None:
    sums[0] += ok or 0
    sums[1] += failed or 0


def _day_start(day: date) -> float:
    return datetime.combine(day, time.min, tzinfo=UTC).timestamp()


class TenantCollector(Collector):
    """The metric families of ``domains`` (a tenant's), read when collected."""

    def __init__(self, domains: list[Domain], tenant_id: int | None = None) -> None:
        self.domains = domains
        self.names = {d.pk: d.name for d in domains}
        self.tenant_id = tenant_id  # keys the cached sums of older days; None: not cached

    def _rows(self, kind: str, query: Callable[[Q], QuerySet[Any, Any]]) -> list[Any]:
        """``query``'s grouped rows for the days before the last RECENT_DAYS (kept an
        hour in the cache), then for the recent days: the caller adds them up."""
        cutoff = timezone.now().date() - timedelta(days=RECENT_DAYS)
        key = f"tlsrpt:metrics:history:{kind}:{self.tenant_id}:{cutoff.isoformat()}"
        older = cache.get(key) if self.tenant_id is not None else None
        if older is None:
            older = list(query(Q(day__lt=cutoff)))
            if self.tenant_id is not None:
                cache.set(key, older, HISTORY_SECONDS)
        rows = [row for row in older if row[0] in self.names]  # a removed domain's go
        return rows + list(query(Q(day__gte=cutoff)))

    def collect(self) -> Iterator[Metric]:
        yield self._verified()
        if not self.domains:
            return
        yield from self._sessions()
        yield self._failures()
        yield self._alerts()
        checks, modes = self._checks()
        yield checks
        yield self._readiness(modes)

    def _verified(self) -> Metric:
        family = GaugeMetricFamily(
            "tlsrpt_domain_verified", "1 if the domain is verified (only then do reports count).",
            labels=["domain"],
        )  # fmt: skip
        for d in self.domains:
            family.add_metric([d.name], 1 if d.verified_at else 0)
        return family

    def _sessions(self) -> Iterator[Metric]:
        """Five families from one scan of the daily stats, grouped by domain, policy type
        and organization: sessions per policy type and counted once, and each reporter's
        latest day."""
        domain_ok = CounterMetricFamily(
            "tlsrpt_domain_successful_sessions",
            "Successful sessions, a session under both tlsa and sts counted once.",
            labels=["domain"],
        )
        domain_failed = CounterMetricFamily(
            "tlsrpt_domain_failed_sessions",
            "Failed sessions, a session under both tlsa and sts counted once.",
            labels=["domain"],
        )
        policy_ok = CounterMetricFamily(
            "tlsrpt_policy_successful_sessions",
            "Successful sessions as reported under each policy type.",
            labels=["domain", "policy_type"],
        )
        policy_failed = CounterMetricFamily(
            "tlsrpt_policy_failed_sessions",
            "Failed sessions as reported under each policy type.",
            labels=["domain", "policy_type"],
        )
        reporters = GaugeMetricFamily(
            "tlsrpt_reporter_last_report_day_timestamp_seconds",
            "Start (UTC) of the latest day a sending organization reported for the domain.",
            labels=["domain", "reporter"],
        )
        rows = self._rows("stats", lambda days: (
            DailyStat.objects.filter(days, domain_id__in=self.names)
            .values_list("domain_id", "policy_type", "organization")
            .annotate(s=Sum("successful"), f=Sum("failed"))
            .annotate(cs=Sum("counted_successful"), cf=Sum("counted_failed"), last=Max("day"))
            .order_by()
        ))  # fmt: skip
        policy: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
        counted: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        last: dict[tuple[int, str], date] = {}
        for pk, policy_type, organization, ok, failed, counted_ok, counted_failed, day in rows:
            _add(policy[pk, policy_type], ok, failed)
            _add(counted[pk], counted_ok, counted_failed)
            last[pk, organization] = max(day, last.get((pk, organization), day))
        for (pk, policy_type), (ok, failed) in sorted(policy.items(), key=self._by_name):
            policy_ok.add_metric([self.names[pk], policy_type], ok)
            policy_failed.add_metric([self.names[pk], policy_type], failed)
        for pk, name in self.names.items():
            ok, failed = counted.get(pk, (0, 0))
            domain_ok.add_metric([name], ok)
            domain_failed.add_metric([name], failed)
        for (pk, organization), day in sorted(last.items(), key=self._by_name):
            reporters.add_metric([self.names[pk], organization], _day_start(day))
        yield from (domain_ok, domain_failed, policy_ok, policy_failed, reporters)

    def _by_name(self, item: tuple[tuple[int, str], object]) -> tuple[str, str]:
        (pk, label), _ = item
        return self.names[pk], label

    def _failures(self) -> Metric:
        family = CounterMetricFamily(
            "tlsrpt_failures",
            "Failed sessions by result type, counted once (as stats/breakdown shows them).",
            labels=["domain", "result_type"],
        )
        rows = self._rows("failures", lambda days: (
            DailyFailure.objects.filter(days, domain_id__in=self.names)
            .values_list("domain_id", "result_type")
            .annotate(n=Sum("counted"))
            .order_by()
        ))  # fmt: skip
        sums: dict[tuple[int, str], int] = defaultdict(int)
        for pk, result_type, n in rows:
            sums[pk, result_type] += n or 0
        for (pk, result_type), n in sorted(sums.items(), key=self._by_name):
            family.add_metric([self.names[pk], result_type], n)
        return family

    def _alerts(self) -> Metric:
        family = GaugeMetricFamily(
            "tlsrpt_open_alerts", "Alerts open now, by kind.", labels=["domain", "kind"]
        )
        rows = (
            Alert.objects.filter(domain_id__in=self.names, resolved_at__isnull=True)
            .values_list("domain_id", "kind")
            .annotate(n=Count("pk"))
            .order_by("domain_id", "kind")
        )
        for pk, kind, n in rows:
            family.add_metric([self.names[pk], kind], n)
        return family

    def _checks(self) -> tuple[Metric, dict[int, str | None]]:
        """The DNS check state family, and each domain's published MTA-STS mode (the
        policy body its latest definitive MTA-STS check fetched), from one query."""
        family = GaugeMetricFamily(
            "tlsrpt_dns_check_status",
            "The status of the latest definitive DNS check of each kind (one sample, 1).",
            labels=["domain", "kind", "status"],
        )
        newest_first = Window(
            RowNumber(),
            partition_by=[F("domain_id"), F("kind")],
            order_by=[F("checked_at").desc(), F("pk").desc()],
        )
        rows = (
            DnsCheck.objects.filter(domain_id__in=self.names)
            .exclude(status=CheckStatus.UNKNOWN)
            .annotate(rank=newest_first)
            .filter(rank=1)
            .values_list("domain_id", "kind", "status", "records__policy")
        )
        published: dict[int, str | None] = {}
        for pk, kind, status, policy in sorted(rows, key=lambda r: (self.names[r[0]], r[1])):
            family.add_metric([self.names[pk], kind, status], 1)
            if kind == "mta_sts":
                published[pk] = readiness.published_mode(policy)
        return family, published

    def _readiness(self, published: dict[int, str | None]) -> Metric:
        family = GaugeMetricFamily(
            "tlsrpt_enforce_readiness",
            "The domain's readiness to enforce MTA-STS, the readiness page's verdict (1).",
            labels=["domain", "verdict"],
        )
        hosted = readiness.hosted_modes(list(self.names))
        modes = {pk: hosted.get(pk) or published.get(pk) for pk in self.names}
        found = readiness.verdicts(modes)
        for pk, name in self.names.items():
            family.add_metric([name, found[pk]], 1)
        return family
