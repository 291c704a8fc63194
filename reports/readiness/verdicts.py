"""Readiness to enforce: would a domain's MTA-STS policy, now in ``testing``, lose mail
under ``enforce``? Decided from the domain's own TLS-RPT reports over a window.

**What would bounce.** Under ``enforce`` a sender "MUST NOT deliver the message to hosts
that fail MX matching or certificate validation or that do not support STARTTLS"
(RFC 8461 §5). Those are the result types ``starttls-not-supported``,
``certificate-host-mismatch``, ``certificate-expired``, ``certificate-not-trusted`` and
``validation-failure`` (RFC 8460 §4.3.1; senders report an MX outside the policy's
``mx`` patterns as ``validation-failure``), counted only when reported under an ``sts``
policy: a DANE failure is about TLSA records, not MTA-STS, and a sender doing DANE
ignores MTA-STS anyway (RFC 8461 §2).

The ``sts-*`` types (``sts-policy-fetch-error``, ``sts-policy-invalid``,
``sts-webpki-invalid``) block too, as the issue that asked for this verdict says, though
they bounce nothing themselves: a sender that cannot fetch or authenticate the policy
delivers "as though the domain has not implemented MTA-STS" (RFC 8461 §3.3). So its
sessions were never checked against the policy, and its successes prove nothing about
what ``enforce`` would do; the policy must reach senders before the data can say "ready".
They are listed apart (``notes``) because their fix is the policy's hosting, not an MX.

**The window** is the last ``window_days`` whole UTC report days before today (a report
counts for the day it starts, and a day's reports arrive the day after). Coverage counts
what was reported under ``sts`` policies: the reporters (sending organizations), their
sessions and the days with reports. The verdict:

- ``not_ready``: at least one session in the window would have failed under enforce;
- ``ready``: none, seen by at least ``MIN_REPORTERS`` reporters on ``MIN_DAYS`` days;
- ``not_enough_data``: none, but fewer reporters or days than that;
- ``not_testing``: the domain's policy (hosted, or else the one its health check fetched)
  is not in ``testing``, or it has none.

Everything is read from the daily rollups (``DailyStat``, ``DailyFailure``: MX host,
result type and organization are in their key) for one domain and the window: a few
small queries. Callers are inside the domain's tenant's scope.
"""

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from domains.hosting.readiness import ModeSeen, sts_mode
from domains.models import Domain
from reports.models import DailyFailure, DailyStat, PolicyType

WINDOW_DAYS = 14
MIN_REPORTERS = 2
MIN_DAYS = 7
BOUNCING_TYPES = frozenset({
    "starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
    "certificate-not-trusted", "validation-failure",
})  # fmt: skip
# The sender could not get the policy: it delivered unchecked, so its sessions prove nothing.
POLICY_NOT_OBTAINED = frozenset(
    {"sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"}
)
NO_MX = "(no MX named)"

READY, NOT_READY, NOT_ENOUGH_DATA, NOT_TESTING = (
    "ready", "not_ready", "not_enough_data", "not_testing",
)  # fmt: skip
LABELS = {
    READY: "Ready to enforce",
    NOT_READY: "Not ready to enforce",
    NOT_ENOUGH_DATA: "Not enough data",
    NOT_TESTING: "Not in testing",
}


@dataclass(frozen=True)
class Window:
    start: date
    end: date  # inclusive
    days: int


@dataclass(frozen=True)
class ReporterCoverage:
    organization: str
    sessions: int
    days: int
    would_fail: int  # sessions of bouncing types this reporter saw


@dataclass(frozen=True)
class Coverage:
    reporters: list[ReporterCoverage]
    sessions: int
    days_with_reports: int

    @property
    def organizations(self) -> list[str]:
        return [r.organization for r in self.reporters]


@dataclass(frozen=True)
class Evidence:
    """Failures of one result type at one MX host: one line of the verdict's evidence."""

    mx: str
    result_type: str
    days: int
    window_days: int
    reporters: list[str]
    sessions: int

    @property
    def text(self) -> str:
        """``mx2.example.com: certificate-expired on 3 of 14 days, seen by A and B, 41 sessions``"""
        return (
            f"{self.mx}: {self.result_type} on {self.days} of {self.window_days} days, "
            f"seen by {and_list(self.reporters)}, {sessions(self.sessions)}"
        )


@dataclass(frozen=True)
class Readiness:
    verdict: str
    window: Window
    coverage: Coverage
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[Evidence] = field(default_factory=list)  # sts-*: the policy did not reach them
    mode: ModeSeen | None = None

    min_reporters: int = MIN_REPORTERS
    min_days: int = MIN_DAYS

    @property
    def label(self) -> str:
        return LABELS[self.verdict]

    @property
    def would_fail(self) -> int:
        return sum(e.sessions for e in self.evidence)

    @property
    def summary(self) -> str:
        return _summary(self)

    def as_dict(self) -> dict[str, Any]:
        """The API's ``readiness`` object."""
        return {
            "verdict": self.verdict, "summary": self.summary,
            "mode": self.mode.mode if self.mode else None,
            "mode_source": self.mode.source if self.mode else None,
            "window": {"start": self.window.start.isoformat(),
                       "end": self.window.end.isoformat(), "days": self.window.days},
            "coverage": {
                "reporters": [asdict(r) for r in self.coverage.reporters],
                "sessions": self.coverage.sessions,
                "days_with_reports": self.coverage.days_with_reports,
            },
            "would_fail": self.would_fail,
            "evidence": [{**asdict(e), "text": e.text} for e in self.evidence],
            "notes": [{**asdict(e), "text": e.text} for e in self.notes],
        }  # fmt: skip


def and_list(names: list[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def sessions(n: int) -> str:
    return f"{n} session{'s' if n != 1 else ''}"


def readiness_window(today: date | None = None, window_days: int = WINDOW_DAYS) -> Window:
    """The last ``window_days`` whole UTC days before ``today`` (UTC)."""
    end = (today or timezone.now().date()) - timedelta(days=1)
    return Window(end - timedelta(days=window_days - 1), end, window_days)


def domain_readiness(
    domain: Domain, *, today: date | None = None, window_days: int = WINDOW_DAYS
) -> Readiness:
    """The domain's readiness to enforce, from its reports of the window before ``today``."""
    window = readiness_window(today, window_days)
    mode = sts_mode(domain)
    failures = _failures(domain, window)
    coverage = _coverage(domain, window, failures)
    evidence = _evidence(failures, window, BOUNCING_TYPES)
    notes = _evidence(failures, window, POLICY_NOT_OBTAINED)
    verdict = _verdict(mode, coverage, evidence + notes)
    return Readiness(verdict, window, coverage, evidence, notes, mode)


def _verdict(mode: ModeSeen | None, coverage: Coverage, blocking: list[Evidence]) -> str:
    if mode is None or mode.mode != "testing":
        return NOT_TESTING
    if blocking:
        return NOT_READY
    enough = len(coverage.reporters) >= MIN_REPORTERS and coverage.days_with_reports >= MIN_DAYS
    return READY if enough else NOT_ENOUGH_DATA


@dataclass(frozen=True)
class _Failure:
    day: date
    result_type: str
    mx: str
    organization: str
    count: int


def _failures(domain: Domain, window: Window) -> list[_Failure]:
    rows = (
        DailyFailure.objects.filter(
            domain=domain,
            policy_type=PolicyType.STS,
            day__range=(window.start, window.end),
            result_type__in=BOUNCING_TYPES | POLICY_NOT_OBTAINED,
        )
        .values_list("day", "result_type", "receiving_mx", "organization", "count")
        .order_by()
    )
    return [_Failure(day, kind, mx or NO_MX, org, n) for day, kind, mx, org, n in rows]


def _coverage(domain: Domain, window: Window, failures: list[_Failure]) -> Coverage:
    rows = (
        DailyStat.objects.filter(
            domain=domain, policy_type=PolicyType.STS, day__range=(window.start, window.end)
        )
        .values("organization", "day")
        .annotate(s=Sum("successful"), f=Sum("failed"))
        .order_by()
    )
    per_org: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # sessions, days
    days = set()
    for row in rows:
        per_org[row["organization"]][0] += (row["s"] or 0) + (row["f"] or 0)
        per_org[row["organization"]][1] += 1
        days.add(row["day"])
    failing: dict[str, int] = defaultdict(int)
    for f in failures:
        if f.result_type in BOUNCING_TYPES:
            failing[f.organization] += f.count
    reporters = [ReporterCoverage(org, n, d, failing[org]) for org, (n, d) in per_org.items()]
    reporters.sort(key=lambda r: (-r.sessions, r.organization))
    return Coverage(reporters, sum(r.sessions for r in reporters), len(days))


def _evidence(failures: list[_Failure], window: Window, types: frozenset[str]) -> list[Evidence]:
    grouped: dict[tuple[str, str], list[_Failure]] = defaultdict(list)
    for f in failures:
        if f.result_type in types and f.count > 0:
            grouped[f.mx, f.result_type].append(f)
    found = [
        Evidence(
            mx=mx,
            result_type=kind,
            days=len({f.day for f in rows}),
            window_days=window.days,
            reporters=sorted({f.organization for f in rows}),
            sessions=sum(f.count for f in rows),
        )
        for (mx, kind), rows in grouped.items()
    ]
    return sorted(found, key=lambda e: (-e.sessions, e.mx, e.result_type))


def _summary(r: Readiness) -> str:
    seen = _coverage_words(r)
    if r.verdict == NOT_TESTING:
        if r.mode is None:
            return "No MTA-STS policy found: readiness is judged for a policy in testing mode."
        source = "hosted" if r.mode.source == "hosted" else "published"
        return (
            f"The {source} MTA-STS policy is in {r.mode.mode} mode: readiness is judged "
            "for a policy in testing mode."
        )
    if r.verdict == NOT_READY and not r.evidence:
        return (
            f"The MTA-STS policy did not reach every sender in the last {r.window.days} days "
            f"(fetch or validation errors), so their sessions were not checked against it; {seen}."
        )
    if r.verdict == NOT_READY:
        return (
            f"{sessions(r.would_fail).capitalize()} in the last {r.window.days} days would have "
            f"failed under enforce; {seen}."
        )
    if r.verdict == READY:
        return (
            f"No session in the last {r.window.days} days would have failed under enforce; {seen}."
        )
    return (
        f"No session would have failed under enforce, but {seen}; ready "
        f"needs at least {MIN_REPORTERS} reporters and {MIN_DAYS} days with reports."
    )


def _coverage_words(r: Readiness) -> str:
    count = len(r.coverage.reporters)
    if not count:
        return f"no report under the MTA-STS policy in the last {r.window.days} days"
    who = f"{count} reporter{'s' if count != 1 else ''} ({and_list(r.coverage.organizations)})"
    return (
        f"{who} reported {sessions(r.coverage.sessions)} on "
        f"{r.coverage.days_with_reports} of {r.window.days} days"
    )


def readiness_dict(domain: Domain) -> dict[str, Any]:
    """What ``domains.hosting.readiness.readiness_for`` answers: the default window's."""
    return domain_readiness(domain).as_dict()
