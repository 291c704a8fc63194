"""The overview's domain cards and summary strip: what each verified domain's card says.

A card is built from figures read once for all domains (``selectors.overview``), the
domain's current DNS checks and its hosted MTA-STS policy; nothing here queries. The
order, worst first, needs only the figures, so it holds across pages: failing (failure
rate at or above the domain's alert threshold), then with some failures, then silent
(no reports in the period), then healthy; within each, most failed sessions first.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from django.utils.safestring import SafeString

from domains.findings import Finding
from domains.models import CheckKind, DnsCheck, Domain
from domains.stspolicy import RecordError, parse_sts_policy
from reports.dashboards.advice import Advice, advice
from reports.dashboards.selectors import DomainSummary, Totals
from reports.dashboards.sparklines import Sparkline, sparkline_svg

MINUS, EN_DASH = "\u2212", "\u2013"  # typeset, as the page shows them


@dataclass(frozen=True)
class Status:
    kind: str  # ok, warn, fail, none: the contract's status-* classes
    text: str

    @property
    def icon(self) -> str:
        return {"ok": "✓", "warn": "!", "fail": "✗"}.get(self.kind, EN_DASH)


@dataclass(frozen=True)
class Change:
    """A figure against the previous period's, as the KPI cards say it."""

    direction: str  # up, down, flat
    good: bool | None  # None: neither good nor bad news
    short: str  # the change alone: "+12 %", "-0.4 pts" (with a minus sign)
    previous: str = ""  # the previous period's figure, when there is one

    @property
    def arrow(self) -> str:
        return {"up": "▲", "down": "▼"}.get(self.direction, "→")

    @property
    def text(self) -> str:
        if not self.previous:
            return self.short
        return f"{self.short} vs previous period ({self.previous})"


def number(value: int) -> str:
    return f"{value:,}"


def percent(value: float | None) -> str:
    if value is None:
        return "—"
    if 0 < value < 0.01:
        return "< 0.01 %"
    return f"{value:.2f}".rstrip("0").rstrip(".") + " %"


def failure_rate(totals: Totals) -> float | None:
    return 100 * totals.failed / totals.sessions if totals.sessions else None


def _direction(delta: float) -> str:
    return "up" if delta > 0 else "down" if delta < 0 else "flat"


def sessions_change(now: Totals, before: Totals) -> Change:
    if not before.sessions:
        if not now.sessions:
            return Change("flat", None, "none in the previous period either")
        return Change("up", None, "none in the previous period")
    delta = now.sessions - before.sessions
    share = f"{100 * delta / before.sessions:+.0f} %".replace("-", MINUS)
    return Change(_direction(delta), None, share, number(before.sessions))


def rate_change(now: Totals, before: Totals) -> Change:
    rate, previous = failure_rate(now), failure_rate(before)
    if previous is None or rate is None:
        return Change("flat", None, "no sessions to compare with")
    delta = round(rate - previous, 2)
    direction = _direction(delta)
    good = None if direction == "flat" else direction == "down"
    points = f"{delta:+.2f}".rstrip("0").rstrip(".").replace("-", MINUS) if delta else "±0"
    return Change(direction, good, f"{points} pts", percent(previous))


def severity(summary: DomainSummary) -> int:
    """0 failing, 1 some failures, 2 silent, 3 healthy: the order of the cards."""
    rate = failure_rate(summary.totals)
    if rate is not None and summary.totals.failed and rate >= summary.domain.failure_rate_threshold:
        return 0
    if summary.totals.failed:
        return 1
    return 2 if not summary.totals.sessions else 3


def worst_first(summaries: Iterable[DomainSummary]) -> list[DomainSummary]:
    return sorted(summaries, key=lambda s: (severity(s), -s.totals.failed, s.domain.name))


@dataclass(frozen=True)
class TopFinding:
    title: str
    meaning: str
    fix: str
    source: str  # "reports": what senders reported; "dns": what our checks found


@dataclass(frozen=True)
class MtaSts:
    mode: str | None  # testing, enforce, none, invalid (unreadable); None: not checked yet
    hosted: bool

    @property
    def status(self) -> Status:
        if self.mode is None:
            return Status("none", "not checked")
        kind = {"enforce": "ok", "testing": "warn", "invalid": "fail"}.get(self.mode, "none")
        return Status(kind, self.mode + (" · hosted" if self.hosted else ""))


def mta_sts_of(check: DnsCheck | None, hosted_mode: str | None) -> MtaSts:
    """The mode senders see: the policy we host, else the one the last check fetched."""
    if hosted_mode is not None:
        return MtaSts(hosted_mode, True)
    if check is None:
        return MtaSts(None, False)
    if not check.records.get("policy"):
        return MtaSts("none", False)  # no record, or no policy behind it
    try:
        return MtaSts(parse_sts_policy(check.records["policy"]).mode, False)
    except RecordError:
        return MtaSts("invalid", False)


def tlsrpt_status(domain: Domain) -> Status:
    if domain.tlsrpt_ok:
        return Status("ok", "points here")
    if domain.tlsrpt_ok is False:
        return Status("fail", "missing or not pointing here")
    return Status("none", "not checked")


@dataclass(frozen=True)
class DomainCard:
    summary: DomainSummary
    step: str
    problems: list[tuple[str, Finding]]  # (check kind, finding) of its DNS health
    mta_sts: MtaSts

    @property
    def domain(self) -> Domain:
        return self.summary.domain

    @property
    def last_report_day(self) -> date | None:
        return self.summary.last_report_day

    @property
    def status(self) -> Status:
        rank = severity(self.summary)
        if self.domain.state == "failing":
            return Status("fail", "Ownership record missing")
        if rank == 0:
            return Status("fail", "Failing")
        errors = [f for _, f in self.problems if f.level == "error"]
        if rank == 1:
            return Status("warn", "Some sessions failed")
        if errors:
            return Status("warn", "DNS problem")
        if rank == 2:
            return Status("none", "No reports yet" if not self.last_report_day else "Silent")
        return Status("ok", "Healthy")

    @property
    def sessions(self) -> str:
        return number(self.summary.totals.sessions)

    @property
    def sessions_change(self) -> Change:
        return sessions_change(self.summary.totals, self.summary.previous)

    @property
    def failure_rate(self) -> str:
        return percent(failure_rate(self.summary.totals))

    @property
    def rate_change(self) -> Change:
        return rate_change(self.summary.totals, self.summary.previous)

    @property
    def failed(self) -> int:
        return self.summary.totals.failed

    @property
    def failed_shown(self) -> str:
        return number(self.summary.totals.failed)

    @cached_property
    def _line(self) -> Sparkline:
        return Sparkline(self.summary.daily, self.step)

    @cached_property  # the card shows it in two places
    def sparkline(self) -> SafeString:
        return sparkline_svg(self._line)

    @property
    def sparkline_small(self) -> SafeString:
        return sparkline_svg(self._line, width=120, height=24)

    @property
    def spark_scale(self) -> int:
        return self._line.scale

    @property
    def top_finding(self) -> TopFinding | None:
        """The period's most frequent failure type, else the first DNS problem."""
        if self.summary.top_result_type:
            found: Advice = advice(self.summary.top_result_type)
            return TopFinding(found.title, found.meaning, found.fix, "reports")
        if self.problems:
            kind, finding = self.problems[0]
            return TopFinding(CheckKind(kind).label, finding.message, finding.fix, "dns")
        return None

    @property
    def tlsrpt(self) -> Status:
        return tlsrpt_status(self.domain)


@dataclass(frozen=True)
class TenantSummary:
    """The strip above the cards: every verified domain, not only the page's."""

    domains: int
    verified: int
    totals: Totals
    previous: Totals
    open_alerts: int

    @property
    def pending(self) -> int:
        return self.domains - self.verified

    @property
    def sessions(self) -> str:
        return number(self.totals.sessions)

    @property
    def sessions_change(self) -> Change:
        return sessions_change(self.totals, self.previous)

    @property
    def failure_rate(self) -> str:
        return percent(failure_rate(self.totals))

    @property
    def rate_change(self) -> Change:
        return rate_change(self.totals, self.previous)


def summed(totals: Iterable[Totals]) -> Totals:
    out = Totals()
    for t in totals:
        out.successful += t.successful
        out.failed += t.failed
    return out
