"""The conflict page's comparison: each report of an inbound message that repeats a stored
report's key (organization, report-id, date range) with other content, next to the
stored one, field by field.

The stored report is the one that counts (the first stored wins; the conflicting one
changed no row), so its side comes from the database and the other from the message's
bytes, read again without the DKIM lookup. Both sides are parsed by the same parser, so
their fields compare alike. Callers are inside the tenant's scope.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from reports.ingest.batch import report_digest, same_report
from reports.ingest.messages import limits_from_settings
from reports.models import InboundMessage
from reports.models import Report as StoredReport
from reports.tlsrpt import FoundReport, Policy, Report, TlsRptError, extract, parse_report


@dataclass(frozen=True)
class Row:
    """One compared field; an empty side is a field that side does not have."""

    label: str
    stored: str
    new: str

    @property
    def differs(self) -> bool:
        return self.stored != self.new


@dataclass(frozen=True)
class Pair:
    stored: StoredReport
    rows: list[Row]

    @property
    def differing(self) -> int:
        return sum(row.differs for row in self.rows)


@dataclass(frozen=True)
class Comparison:
    pairs: list[Pair] = field(default_factory=list)
    # The message could not be read again (it was not a report, or limits changed).
    error: str = ""


def message_conflicts(*, message: InboundMessage) -> Comparison:
    """The message's reports that conflict with stored ones, each beside the stored one."""
    limits = limits_from_settings()
    try:
        envelope = extract(bytes(message.raw), limits=limits, filename=message.filename or None)
        pairs = []
        for found in envelope.reports:
            stored = _stored_with_key(message.tenant_id, found.report)
            if stored is None:
                continue
            stored_json = stored.raw_json
            if not same_report(found.raw_json, stored_json):
                parsed = parse_report(stored_json, limits)
                pairs.append(Pair(stored, [*_rows(parsed, found), _whole(stored_json, found)]))
    except TlsRptError as e:  # the limits may have changed since
        return Comparison(error=e.message)
    return Comparison(pairs=pairs)


def _stored_with_key(tenant_id: int, report: Report) -> StoredReport | None:
    """The stored report under the report's unique key, as the batch store builds it."""
    return StoredReport.objects.filter(
        tenant_id=tenant_id,
        organization=report.organization_name[:255],
        report_id=report.report_id,
        start=report.start,
        end=report.end,
    ).first()


def _rows(stored: Report, found: FoundReport) -> list[Row]:
    new = found.report
    rows = [
        Row("Organization", stored.organization_name, new.organization_name),
        Row("Report ID", stored.report_id, new.report_id),
        Row("Start", _when(stored.start), _when(new.start)),
        Row("End", _when(stored.end), _when(new.end)),
        Row("Contact", stored.contact_info or "", new.contact_info or ""),
        Row("Policies", str(len(stored.policies)), str(len(new.policies))),
        Row("All policies: successful", _sum(stored, "successful"), _sum(new, "successful")),
        Row("All policies: failed", _sum(stored, "failed"), _sum(new, "failed")),
    ]
    before, after = _by_policy(stored.policies), _by_policy(new.policies)
    for key in [*before, *(k for k in after if k not in before)]:
        rows.extend(_policy_rows(key, before.get(key), after.get(key)))
    return rows


def _whole(stored_json: bytes, found: FoundReport) -> Row:
    """Whatever the other rows leave out (failure details' addresses, say) differs here."""
    stored, new = report_digest(stored_json).hex()[:16], report_digest(found.raw_json).hex()[:16]
    return Row("Whole report: SHA-256 of its JSON, keys sorted (first 16)", stored, new)


PolicyKey = tuple[str, str, int]  # type, domain, which of that type and domain


def _by_policy(policies: list[Policy]) -> dict[PolicyKey, Policy]:
    seen: Counter[tuple[str, str]] = Counter()
    keyed = {}
    for p in policies:
        name = (p.policy_type, (p.policy_domain or "").rstrip(".").lower())
        keyed[(*name, seen[name])] = p
        seen[name] += 1
    return keyed


def _policy_rows(key: PolicyKey, stored: Policy | None, new: Policy | None) -> list[Row]:
    policy_type, domain, index = key
    name = f"{policy_type} policy for {domain or '(no domain given)'}"
    if index:
        name += f" ({index + 1})"
    labels = ("successful", "failed", "failure details", "MX patterns", "policy")
    before, after = _policy_values(stored), _policy_values(new)
    sides = zip(labels, before, after, strict=True)
    return [Row(f"{name}: {label}", old, new) for label, old, new in sides]


def _policy_values(policy: Policy | None) -> tuple[str, ...]:
    """Successful, failed, the failure details (entries and their sessions), the MX
    patterns and the policy's lines."""
    if policy is None:
        return "", "", "", "", ""
    details = policy.failure_details
    sessions = sum(d.failed_session_count for d in details)
    return (
        str(policy.successful),
        str(policy.failed),
        f"{len(details)} ({sessions} sessions)",
        ", ".join(policy.mx_hosts),
        " / ".join(policy.policy_strings),
    )


def _sum(report: Report, of: str) -> str:
    return str(sum(getattr(p, of) for p in report.policies))


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
