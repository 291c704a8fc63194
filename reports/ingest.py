"""Turn a stored inbound message into reports, policies, failure details and rollups.

``message_run`` is what the ``process_inbound`` task and ``manage.py ingest`` call.
It is idempotent: an attempt is claimed only on a waiting message, the store
transaction marks the message done first (taking its row lock, so a concurrent run
waits and then finds it done), and reports are unique per tenant on (organization,
report-id, range).
"""

import gzip
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC

from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from domains.dns import dkim_key_lookup
from reports.attribution import VerifiedDomains, domain_from_filename
from reports.bulk import failure_details_insert
from reports.models import InboundMessage, PolicyResult, Report, Status
from reports.rollups import RollupDelta, rollups_apply
from reports.tlsrpt import (
    Envelope,
    FoundReport,
    HeaderFacts,
    Limits,
    Policy,
    TlsRptError,
    extract,
)
from reports.tlsrpt import (
    FailureDetail as ParsedFailure,
)

logger = logging.getLogger(__name__)

NO_POLICY = "no-policy-found"


@dataclass(slots=True)
class Outcome:
    status: str
    error_code: str = ""
    error_message: str = ""
    reports: list[FoundReport] = field(default_factory=list)


def limits_from_settings() -> Limits:
    return Limits(
        max_message_bytes=settings.TLSRPT_MAX_MESSAGE_BYTES,
        max_decompressed_bytes=settings.TLSRPT_MAX_DECOMPRESSED_BYTES,
        max_mime_parts=settings.TLSRPT_MAX_MIME_PARTS,
        max_json_depth=settings.TLSRPT_MAX_JSON_DEPTH,
        max_failure_details=settings.TLSRPT_MAX_FAILURE_DETAILS,
    )


def envelope_extract(raw: bytes, *, filename: str | None = None) -> Envelope:
    """Find and parse the reports in ``raw`` with the configured limits and DKIM check."""
    dnsfunc = dkim_key_lookup if settings.TLSRPT_VERIFY_DKIM else None
    return extract(raw, limits=limits_from_settings(), dkim_dnsfunc=dnsfunc, filename=filename)


# A message that has been started this many times without finishing (worker killed,
# out of memory, time limit) is failed instead of being retried for ever.
MAX_ATTEMPTS = 5

_CLAIM_SQL = f"""
UPDATE {InboundMessage._meta.db_table} SET attempts = attempts + 1
WHERE id = %s AND status = %s
RETURNING tenant_id, attempts, raw, filename
"""  # noqa: S608 -- the table name comes from the model


@dataclass(slots=True)
class _Claim:
    tenant_id: int
    attempts: int
    raw: bytes
    filename: str


def message_run(*, message_id: int) -> Outcome:
    """Count an attempt, then process; what the task and ``manage.py ingest`` call.

    A message that is not waiting (already done, or being reprocessed elsewhere) is left
    as it is and its current outcome returned.
    """
    claim = _claim(message_id)
    if claim is None:
        return _current_outcome(message_id)
    if claim.attempts > MAX_ATTEMPTS:
        return message_fail(
            message_id=message_id,
            outcome=Outcome(
                Status.FAILED,
                "too_many_attempts",
                f"Processing was interrupted {MAX_ATTEMPTS} times; the message was set aside.",
            ),
        )
    with scope(tenant=claim.tenant_id):
        try:
            envelope = envelope_extract(claim.raw, filename=claim.filename or None)
        except TlsRptError as e:
            outcome = Outcome(Status.FAILED, e.code, e.message)
            return message_fail(message_id=message_id, outcome=outcome)
        except Exception:
            # A bug must not lose the message or show a traceback: keep it, reprocessable.
            logger.exception("Unexpected error parsing inbound message %s", message_id)
            return message_fail(message_id=message_id, outcome=_internal_error())
        return _store(claim.tenant_id, message_id, envelope)


def _claim(message_id: int) -> _Claim | None:
    """Count an attempt on a waiting message and read what processing needs, at once."""
    with transaction.atomic():
        _relax_durability()
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [message_id, Status.RECEIVED])
            row = cursor.fetchone()
    if row is None:
        return None
    tenant_id, attempts, raw, filename = row
    return _Claim(tenant_id, attempts, bytes(raw), filename)


def _relax_durability() -> None:
    """Let this transaction's commit return before its WAL reaches the disk.

    Safe for processing only: the raw message was committed durably when it arrived,
    and processing is idempotent, so a database crash that loses the last few hundred
    milliseconds of processing just leaves messages waiting, and they are run again.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _current_outcome(message_id: int) -> Outcome:
    with scopes_disabled():
        message = InboundMessage.objects.only("status", "error_code").get(pk=message_id)
    return Outcome(status=message.status, error_code=message.error_code)


def _internal_error() -> Outcome:
    return Outcome(
        Status.FAILED, "internal_error", "An internal error stopped processing; it can be retried."
    )


def _store(tenant_id: int, message_id: int, envelope: Envelope) -> Outcome:
    with transaction.atomic():
        _relax_durability()
        # Marking the message done first takes its row lock: a concurrent run of the same
        # message waits here, then finds it no longer waiting.
        if not _mark(message_id, Outcome(Status.PROCESSED)):
            return _current_outcome(message_id)
        try:
            outcome = envelope_store(tenant_id=tenant_id, envelope=envelope, inbound_id=message_id)
        except DataError:
            outcome = Outcome(
                Status.FAILED,
                "count_out_of_range",
                "Session counts add up past what can be stored (2^63 - 1).",
            )
        if outcome.status != Status.PROCESSED:
            _mark(message_id, outcome, waiting=False)
    return outcome


def message_fail(*, message_id: int, outcome: Outcome) -> Outcome:
    """Record ``outcome`` on a message that is still waiting; the raw bytes stay."""
    with transaction.atomic():
        _relax_durability()
        _mark(message_id, outcome)
    return outcome


def _mark(message_id: int, outcome: Outcome, *, waiting: bool = True) -> bool:
    """Set the outcome (only on a waiting message, unless ``waiting`` is False)."""
    with scopes_disabled():
        messages = InboundMessage.objects.filter(pk=message_id)
        if waiting:
            messages = messages.filter(status=Status.RECEIVED)
        return bool(
            messages.update(
                status=outcome.status,
                error_code=outcome.error_code,
                error_message=outcome.error_message,
                processed_at=timezone.now(),
            )
        )


def envelope_store(*, tenant_id: int, envelope: Envelope, inbound_id: int) -> Outcome:
    """Store every report of ``envelope``; the caller holds the transaction."""
    verified = VerifiedDomains.for_tenant(tenant_id)
    statuses = []
    for found in envelope.reports:
        # Each report in its own savepoint: a duplicate must not undo the others.
        try:
            with transaction.atomic():
                statuses.append(
                    _report_store(tenant_id, found, envelope.headers, inbound_id, verified)
                )
        except IntegrityError:
            statuses.append(Status.DUPLICATE)
    status = next(
        (s for s in (Status.PROCESSED, Status.DUPLICATE) if s in statuses), Status.UNATTRIBUTED
    )
    return Outcome(status=status, reports=envelope.reports)


def _report_store(
    tenant_id: int,
    found: FoundReport,
    headers: HeaderFacts | None,
    inbound_id: int,
    verified: VerifiedDomains,
) -> str:
    report = found.report
    fallbacks = (
        headers.tls_report_domain if headers else None,
        domain_from_filename(found.filename),
    )
    domains = [verified.domain_for(p, report.report_id, fallbacks) for p in report.policies]
    if not any(domains):
        return Status.UNATTRIBUTED
    counted = counted_policies(report.policies, domains)
    day = report.start.astimezone(UTC).date()
    row = Report.objects.create(
        tenant_id=tenant_id,
        inbound_id=inbound_id,
        organization=report.organization_name[:255],
        report_id=report.report_id,
        start=report.start,
        end=report.end,
        day=day,
        contact_info=report.contact_info or "",
        raw_json_gz=gzip.compress(found.raw_json, compresslevel=1, mtime=0),
        successful=sum(p.successful for p, c in zip(report.policies, counted, strict=True) if c),
        failed=sum(p.failed for p, c in zip(report.policies, counted, strict=True) if c),
        **_header_fields(headers),
    )
    _policies_store(tenant_id, row, report.policies, domains, counted)
    return Status.PROCESSED


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
    """Which policies count toward domain totals.

    Senders may evaluate one session against several policies (Microsoft reports each
    session under both tlsa and sts), so per domain only the policy type with the most
    sessions counts; ``no-policy-found`` sessions had no policy and always count.
    """
    keys = [d or p.policy_domain for p, d in zip(policies, domains, strict=True)]
    totals: dict[tuple[object, str], list[int]] = defaultdict(lambda: [0, 0])
    for policy, key in zip(policies, keys, strict=True):
        row = totals[key, policy.policy_type]
        row[0] += policy.successful + policy.failed
        row[1] += policy.failed
    best: dict[object, tuple[int, int, bool, str]] = {}
    for (key, policy_type), (sessions, failed) in totals.items():
        candidate = (sessions, failed, policy_type == "tlsa", policy_type)
        if policy_type != NO_POLICY and (key not in best or candidate > best[key]):
            best[key] = candidate
    return [
        p.policy_type == NO_POLICY or best[key][3] == p.policy_type
        for p, key in zip(policies, keys, strict=True)
    ]


def _policies_store(
    tenant_id: int,
    report: Report,
    policies: list[Policy],
    domains: list[int | None],
    counted: list[bool],
) -> None:
    rows = [
        PolicyResult(
            tenant_id=tenant_id,
            report=report,
            domain_id=domain,
            policy_type=p.policy_type[:32],
            policy_domain=(p.policy_domain or "")[:253],
            policy_strings=p.policy_strings,
            mx_hosts=p.mx_hosts,
            successful=p.successful,
            failed=p.failed,
            counted=c,
            day=report.day,
        )
        for p, domain, c in zip(policies, domains, counted, strict=True)
    ]
    PolicyResult.objects.bulk_create(rows)
    details = []
    delta = RollupDelta()
    for row, policy in zip(rows, policies, strict=True):
        if row.domain_id:
            key = (row.domain_id, report.day, report.organization, row.policy_type)
            delta.add_policy(key, policy.successful, policy.failed, row.counted)
        for d in policy.failure_details:
            details.append(_detail_row(tenant_id, row.pk, d))
            if row.domain_id:
                fkey = (
                    row.domain_id, report.day, row.policy_type, d.result_type[:64],
                    (d.receiving_mx_hostname or "")[:253], report.organization,
                )  # fmt: skip
                delta.add_failure(fkey, d.failed_session_count, row.counted)
    failure_details_insert(details)
    rollups_apply(tenant_id=tenant_id, delta=delta)


def _detail_row(tenant_id: int, policy_id: int, d: ParsedFailure) -> tuple:
    """A row in ``reports.bulk.COLUMNS`` order."""
    return (
        tenant_id,
        policy_id,
        d.result_type[:64],
        (d.sending_mta_ip or "")[:64],
        (d.receiving_mx_hostname or "")[:253],
        (d.receiving_mx_helo or "")[:253],
        (d.receiving_ip or "")[:64],
        d.failed_session_count,
        d.additional_information or "",
        d.failure_reason_code or "",
    )


def message_reprocess(*, message: InboundMessage) -> bool:
    """Put a failed or unattributed message back in the queue; False if it cannot be."""
    from reports.inbound.store import inbound_queue

    with scope(tenant=message.tenant_id), transaction.atomic():
        updated = InboundMessage.objects.filter(
            pk=message.pk, status__in=[Status.FAILED, Status.UNATTRIBUTED]
        ).update(status=Status.RECEIVED, error_code="", error_message="")
        if updated:
            transaction.on_commit(lambda: inbound_queue(message_id=message.pk))
    return bool(updated)
