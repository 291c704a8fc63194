"""Store the reports of several parsed messages at once, inside the caller's transaction.

Every statement covers the whole batch: one insert of the reports (a report already
stored, or twice in the batch, is a duplicate: the unique key decides, no savepoints),
one of their policies, one COPY of the failure details and one upsert per rollup table.
Rows are written in key order, so concurrent batches take their locks in the same order.

A duplicate's JSON is compared with the stored report's (``report_digest``: the parsed
document, keys sorted, so an e-mailed copy and a gzipped HTTPS copy are the same): a
resend of the same report is a ``duplicate``, a report repeating a stored one's key
with other content (corrected numbers, or forged ones) makes its message
``duplicate_conflicting``. Either way the first report stored stays as it is and is
the one counted; the later one changes no row.

It runs in the scope of the batch's tenants and refuses to run otherwise: its raw
inserts would not notice a scope that is lifted or another tenant's.
"""

import gzip
import hashlib
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date

import msgspec
from django_scopes import get_scope
from django_scopes.exceptions import ScopeError

from reports.ingest.attribution import VerifiedDomains, domain_from_filename
from reports.ingest.bulk import (
    failure_details_insert,
    reports_existing,
    reports_insert,
    reports_raw_json,
)
from reports.ingest.rollups import RollupDelta, rollups_apply
from reports.models import PolicyResult, Report, Status
from reports.selftest.recognise import self_tests_among
from reports.tlsrpt import Envelope, FoundReport, HeaderFacts, Policy
from reports.tlsrpt import FailureDetail as ParsedFailure
from reports.webhooks.events import PolicyNumbers, ReportFacts
from reports.webhooks.hooks import reports_received


@dataclass(slots=True)
class Parsed:
    """A claimed message and what its bytes turned out to hold."""

    message_id: int
    tenant_id: int
    envelope: Envelope


@dataclass(slots=True)
class _Planned:
    message_id: int
    row: Report
    raw_json: bytes
    policies: list[Policy]
    domains: list[int | None]
    counted: list[bool]

    @property
    def key(self) -> tuple:
        row = self.row
        return (row.tenant_id, row.organization, row.report_id, row.start, row.end)


@dataclass(slots=True)
class Stored:
    """A message's outcome: its status, and for a duplicate the report it repeats (for a
    conflicting one, the first stored report whose content differs)."""

    status: str
    duplicate_of: int | None = None


Repeat = tuple[tuple, bytes]  # (unique key, the repeating report's JSON)


def batch_store(parsed: list[Parsed]) -> dict[int, Stored]:
    """Store every report of every message; each message's outcome, by id."""
    tenants = {p.tenant_id for p in parsed}
    _scope_check(tenants)
    verified = {t: VerifiedDomains.for_tenant(t) for t in tenants}
    tests = self_tests_among(
        (p.tenant_id, f.report.organization_name[:255], f.report.report_id)
        for p in parsed
        for f in p.envelope.reports
    )
    statuses: dict[int, list[str]] = {p.message_id: [] for p in parsed}
    repeats: dict[int, list[Repeat]] = defaultdict(list)  # message -> reports already there
    planned: dict[tuple, _Planned] = {}
    for message in parsed:
        for found in message.envelope.reports:
            is_test = (message.tenant_id, found.report.report_id) in tests
            plan = _plan(message, found, verified[message.tenant_id], is_test=is_test)
            if plan is None:
                statuses[message.message_id].append(Status.UNATTRIBUTED)
            elif plan.key in planned:
                statuses[message.message_id].append(Status.DUPLICATE)
                repeats[message.message_id].append((plan.key, plan.raw_json))
            else:
                planned[plan.key] = plan
    ordered = [planned[key] for key in sorted(planned)]
    inserted = reports_insert([plan.row for plan in ordered])
    stored, ids = [], {}
    for plan, pk in zip(ordered, inserted, strict=True):
        statuses[plan.message_id].append(Status.PROCESSED if pk else Status.DUPLICATE)
        if pk:
            plan.row.pk = ids[plan.key] = pk
            stored.append(plan)
        else:
            repeats[plan.message_id].append((plan.key, plan.raw_json))
    _policies_store(stored)
    reports_received(_facts(plan) for plan in stored)  # webhooks, in this transaction
    ids.update(reports_existing({k for rs in repeats.values() for k, _ in rs} - ids.keys()))
    conflicts = _conflicts(repeats, ids, {plan.key: plan.raw_json for plan in stored})
    outcomes = {}
    for message_id, message_statuses in statuses.items():
        if conflicts.get(message_id):
            outcomes[message_id] = Stored(Status.DUPLICATE_CONFLICTING, conflicts[message_id][0])
            continue
        status = _message_status(message_statuses)
        repeated = repeats.get(message_id, []) if status == Status.DUPLICATE else []
        outcomes[message_id] = Stored(status, next((ids[k] for k, _ in repeated if k in ids), None))
    return outcomes


def _facts(plan: _Planned) -> ReportFacts:
    row = plan.row
    policies = [
        PolicyNumbers(p.policy_type, p.policy_domain or "", d, p.successful, p.failed, c)
        for p, d, c in zip(plan.policies, plan.domains, plan.counted, strict=True)
    ]
    return ReportFacts(
        row.tenant_id, row.pk, row.organization, row.report_id, row.start, row.end,
        row.successful, row.failed, policies, test=row.is_test,
    )  # fmt: skip


def _conflicts(
    repeats: dict[int, list[Repeat]], ids: dict[tuple, int], inserted: dict[tuple, bytes]
) -> dict[int, list[int]]:
    """Per message, the stored reports that one of its duplicates repeats with other
    content; the stored JSON is read only for reports not inserted by this batch."""
    keys = {k for rs in repeats.values() for k, _ in rs if k in ids}
    earlier = reports_raw_json({ids[k] for k in keys - inserted.keys()})
    conflicts: dict[int, list[int]] = {}
    for message_id, repeated in repeats.items():
        for key, raw in repeated:
            if key not in ids:  # gone meanwhile (retention): nothing to compare with
                continue
            stored = inserted[key] if key in inserted else earlier.get(ids[key])
            if stored is not None and not same_report(raw, stored):
                conflicts.setdefault(message_id, []).append(ids[key])
    return conflicts


_BOM = b"\xef\xbb\xbf"


def report_digest(raw_json: bytes) -> bytes:
    """SHA-256 of a report's JSON document with its keys sorted and no spaces: the same
    for the same report however it was serialised, compressed or carried.

    JSON msgspec cannot read back (the parser read it, so this is rare) is hashed as it is.
    """
    body = raw_json.removeprefix(_BOM)
    with suppress(msgspec.MsgspecError):
        body = msgspec.json.encode(msgspec.json.decode(body), order="sorted")
    return hashlib.sha256(body).digest()


def same_report(raw_json: bytes, other: bytes) -> bool:
    """Whether two reports' JSON hold the same document (equal bytes, the common case of
    a retry, are not parsed)."""
    return raw_json == other or report_digest(raw_json) == report_digest(other)


def _scope_check(tenants: set[int]) -> None:
    """Fail closed unless the current scope is that of these tenants (or of a wider set)."""
    current = get_scope()
    value = current.get("tenant")
    scoped = value if isinstance(value, list | tuple) else [value]
    ids = {getattr(t, "pk", t) for t in scoped}
    if not current.get("_enabled", True) or None in ids or not tenants <= ids:
        raise ScopeError(f"A batch is stored in the scope of its tenants {sorted(tenants)}.")


def _message_status(statuses: list[str]) -> str:
    """Processed if any report was stored, else duplicate if any was known, else unattributed."""
    return next(
        (s for s in (Status.PROCESSED, Status.DUPLICATE) if s in statuses), Status.UNATTRIBUTED
    )


def _plan(
    message: Parsed, found: FoundReport, verified: VerifiedDomains, *, is_test: bool = False
) -> _Planned | None:
    report = found.report
    headers = message.envelope.headers
    fallbacks = (
        headers.tls_report_domain if headers else None,
        domain_from_filename(found.filename),
    )
    domains = [verified.domain_for(p, report.report_id, fallbacks) for p in report.policies]
    if not any(domains):
        return None
    counted = counted_policies(report.policies, domains)
    if is_test:  # a self-test (reports.selftest.recognise) counts nowhere
        counted = [False] * len(counted)
    row = Report(
        tenant_id=message.tenant_id,
        inbound_id=message.message_id,
        organization=report.organization_name[:255],
        report_id=report.report_id,
        start=report.start,
        end=report.end,
        day=report.start.astimezone(UTC).date(),
        contact_info=report.contact_info or "",
        raw_json_gz=gzip.compress(found.raw_json, compresslevel=1, mtime=0),
        successful=sum(p.successful for p, c in zip(report.policies, counted, strict=True) if c),
        failed=sum(p.failed for p, c in zip(report.policies, counted, strict=True) if c),
        is_test=is_test,
        **_header_fields(headers),
    )
    return _Planned(message.message_id, row, found.raw_json, report.policies, domains, counted)


def _header_fields(headers: HeaderFacts | None) -> dict[str, str]:
    if headers is None:
        return {}
    return {
        "tls_report_domain": (headers.tls_report_domain or "")[:253],
        "tls_report_submitter": (headers.tls_report_submitter or "")[:253],
        "subject_report_id": headers.subject_report_id or "",
        "from_address": (headers.from_address or "")[:320],
        "email_message_id": headers.message_id or "",
        "dkim_result": headers.dkim_result or "",
        "dkim_domain": (headers.dkim_domain or "")[:253],
    }


def counted_policies(policies: list[Policy], domains: list[int | None]) -> list[bool]:
    """Which policies count toward domain totals: all of them, unless the report shows
    the same sessions twice.

    Microsoft evaluates each session against both the domain's DANE and MTA-STS
    policies and reports it under both: a ``tlsa`` and an ``sts`` policy naming the same
    policy-domain, with identical successful and failed totals. Only then is the ``sts``
    side left out of the totals. Other senders (Postfix through sys4's tlsrpt-reporter)
    report each session once, under the policy that applied: a DANE policy names the MX
    host, an MTA-STS one the domain, and every session counts, even when the two totals
    happen to be equal.
    """
    totals: dict[tuple[object, str, str], list[int]] = defaultdict(lambda: [0, 0])
    keys = []
    for policy, domain in zip(policies, domains, strict=True):
        key = (domain or policy.policy_domain, _host(policy.policy_domain))
        keys.append(key)
        row = totals[(*key, policy.policy_type)]
        row[0] += policy.successful
        row[1] += policy.failed
    return [
        p.policy_type != "sts" or totals.get((*key, "tlsa")) != totals[(*key, "sts")]
        for p, key in zip(policies, keys, strict=True)
    ]


def _host(name: str | None) -> str:
    return (name or "").strip().rstrip(".").lower()


def _policies_store(stored: list[_Planned]) -> None:
    rows = [
        PolicyResult(
            tenant_id=plan.row.tenant_id,
            report_id=plan.row.pk,
            domain_id=domain,
            policy_type=p.policy_type[:32],
            policy_domain=(p.policy_domain or "")[:253],
            policy_strings=p.policy_strings,
            mx_hosts=p.mx_hosts,
            successful=p.successful,
            failed=p.failed,
            counted=c,
            day=plan.row.day,
        )
        for plan in stored
        for p, domain, c in zip(plan.policies, plan.domains, plan.counted, strict=True)
    ]
    if not rows:
        return
    PolicyResult.objects.bulk_create(rows)
    details: list[tuple] = []
    delta = RollupDelta()
    seen: set[tuple] = set()  # (report, rollup key): a report counts once per rollup row
    policies = ((plan, p) for plan in stored for p in plan.policies)
    for row, (plan, policy) in zip(rows, policies, strict=True):
        organization = plan.row.organization
        rolled_up = not plan.row.is_test  # a self-test touches no rollup
        if row.domain_id and rolled_up:
            key = (row.domain_id, row.day, organization, row.policy_type)
            new_report = (plan.row.pk, key) not in seen
            seen.add((plan.row.pk, key))
            delta.add_policy(
                row.tenant_id, key, policy.successful, policy.failed, row.counted,
                new_report=new_report,
            )  # fmt: skip
        if not policy.failure_details:
            continue
        # Read once a policy: a model's key attributes are descriptors.
        tenant_id, policy_id, day, counted = row.tenant_id, row.pk, row.day, row.counted
        details.extend(_detail_row(tenant_id, policy_id, day, d) for d in policy.failure_details)
        if row.domain_id and rolled_up:
            where = (row.domain_id, day, row.policy_type, organization)
            for d in policy.failure_details:
                delta.add_detail(tenant_id, where, d, counted=counted)
            delta.add_details_stored(policy_id, day)
    failure_details_insert(details)
    rollups_apply(delta=delta)


def _detail_row(tenant_id: int, policy_id: int, day: date, d: ParsedFailure) -> tuple:
    """A row in ``reports.ingest.bulk.COLUMNS`` order (``day``: its policy's, the
    partition key)."""
    return (
        tenant_id,
        policy_id,
        d.result_type[:64],
        (d.sending_mta_ip or "")[:64],
        (d.receiving_mx_hostname or "")[:253],
        d.receiving_mx_helo or "",
        (d.receiving_ip or "")[:64],
        d.failed_session_count,
        d.additional_information or "",
        d.failure_reason_code or "",
        day,
    )
