"""What the latest live probe of an MX says about a failure the reports show there.

The reports say what senders saw on past days; the MX TLS probe (a ``DnsCheck`` of kind
``mx_tls``, one record per MX host under ``records["hosts"]``) says what the MX serves
now. Side by side, a reported ``certificate-expired`` is either confirmed ("the
certificate expired on 2026-11-28") or fixed ("a valid certificate since 2026-12-02",
issued after the last failure day). No probe, or no record of that MX, says nothing.

Callers are inside the tenant's scope.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from fnmatch import fnmatchcase
from typing import Any

from domains.models import DnsCheck, Domain
from reports.dashboards.periods import Period
from reports.models import DailyFailure

PROBED_TYPES = frozenset(
    {
        "certificate-expired",
        "certificate-not-trusted",
        "certificate-host-mismatch",
        "starttls-not-supported",
    }
)


@dataclass(frozen=True)
class FailureRow:
    """One rollup row of the period: failed sessions of a day, organization, MX and type."""

    day: date
    policy_type: str
    result_type: str
    receiving_mx: str
    organization: str
    count: int


@dataclass(frozen=True)
class ProbeNote:
    """A reported failure at one MX, and what the probe now sees there."""

    result_type: str
    mx: str
    organizations: tuple[str, ...]
    days: int
    last_day: date
    verdict: str  # "confirmed", "fixed", "differs" or "no-certificate"
    probe: str  # what the probe says, in plain words

    @property
    def text(self) -> str:
        days = f"{self.days} day" + ("" if self.days == 1 else "s")
        who = ", ".join(self.organizations)
        return f"{self.result_type} reported by {who} for {self.mx} on {days} — {self.probe}"


def failure_rows(domain: Domain, period: Period) -> list[FailureRow]:
    """The domain's failure rollups in the period, in one query."""
    rows = DailyFailure.objects.filter(period.q(), domain=domain, count__gt=0).values_list(
        "day", "policy_type", "result_type", "receiving_mx", "organization", "count"
    )
    return [FailureRow(*row) for row in rows.order_by("day", "organization", "result_type")]


def probe_notes(rows: list[FailureRow], probe: DnsCheck | None) -> list[ProbeNote]:
    """A note for each (result type, MX) the reports show and the probe has a record of."""
    if probe is None:
        return []
    hosts = (probe.records or {}).get("hosts") or {}
    groups: dict[tuple[str, str], list[FailureRow]] = defaultdict(list)
    for row in rows:
        if row.result_type in PROBED_TYPES and row.receiving_mx:
            groups[(row.result_type, _host(row.receiving_mx))].append(row)
    notes = []
    for (result_type, mx), found in sorted(groups.items()):
        host = hosts.get(mx)
        if not isinstance(host, dict):
            continue
        last_day = max(r.day for r in found)
        verdict, said = _judge(result_type, mx, host, last_day, probe.checked_at)
        organizations = tuple(sorted({r.organization for r in found}))
        days = len({r.day for r in found})
        notes.append(ProbeNote(result_type, mx, organizations, days, last_day, verdict, said))
    return notes


def notes_by_type(notes: list[ProbeNote]) -> dict[str, list[ProbeNote]]:
    by_type: dict[str, list[ProbeNote]] = defaultdict(list)
    for note in notes:
        by_type[note.result_type].append(note)
    return dict(by_type)


def _host(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _judge(
    result_type: str, mx: str, host: dict, last_day: date, checked_at: datetime
) -> tuple[str, str]:
    probed = _when(host.get("probed_at")) or checked_at
    on = f"on {probed.date().isoformat()}"
    if result_type == "starttls-not-supported":
        if not host.get("starttls"):
            return "confirmed", f"the probe confirms: STARTTLS was not offered {on}"
        return "fixed", f"the probe was offered STARTTLS {on}: fixed"
    cert = host.get("certificate")
    if not isinstance(cert, dict):
        error = host.get("error_code") or "no TLS session"
        return "no-certificate", f"the probe got no certificate {on} ({error})"
    return _judge_certificate(result_type, mx, cert, bool(host.get("trusted")), probed, last_day)


def _judge_certificate(
    result_type: str, mx: str, cert: dict, trusted: bool, probed: datetime, last_day: date
) -> tuple[str, str]:
    not_before, not_after = _when(cert.get("not_before")), _when(cert.get("not_after"))
    if result_type == "certificate-expired":
        if not_after is not None and not_after <= probed:
            expired = f"{not_after:%Y-%m-%d}"
            return "confirmed", f"the probe confirms: the certificate expired on {expired}"
    elif result_type == "certificate-not-trusted":
        if not trusted:
            issuer = cert.get("issuer") or "its issuer"
            return "confirmed", f"the probe confirms: the certificate ({issuer}) is not trusted"
    else:
        sans = [str(s) for s in cert.get("sans") or []]
        if not any(_name_matches(mx, san) for san in sans):
            names = ", ".join(sans) or "no names"
            return "confirmed", f"the probe confirms: the certificate names {names}, not {mx}"
    since = f"{not_before:%Y-%m-%d}" if not_before else "an unknown day"
    if not_before is not None and not_before.date() > last_day:
        return "fixed", f"the probe now sees a valid certificate since {since}: fixed"
    return "differs", (
        f"the probe sees a valid certificate, in place since {since}, before the last failure "
        "day: some senders may reach another server behind this name"
    )


def _name_matches(mx: str, san: str) -> bool:
    """A certificate name covers the host: exactly, or a wildcard over one label."""
    san = _host(san)
    if san.startswith("*."):
        head, _, rest = mx.partition(".")
        return bool(head) and fnmatchcase(rest, san[2:])
    return san == mx
