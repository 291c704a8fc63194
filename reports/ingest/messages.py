"""Turn stored inbound messages into reports, policies, failure details and rollups.

Two ways in, one way through:

* ``backlog_drain`` (the ``drain_inbound`` task, which the doors wake) claims the waiting
  messages in batches, oldest first, until none is left;
* ``message_run`` (the ``process_inbound`` task, ``manage.py ingest``) claims one message.

Both hand their claims (``reports.ingest.claims``) to ``claims_run``: parse each message, then in
one transaction lock the messages still waiting, store every report of the batch
(``reports.ingest.batch``) and set each message's outcome. It is idempotent: reports are unique
per tenant on (organization, report-id, range), and a message that is no longer waiting
is left as it is. A batch the database refuses (a count out of range) is run again one
message at a time, so only the message at fault fails.

Only the claim crosses tenants; everything after it (parsing, storing the batch, marking
outcomes, releasing) runs in ``scope(tenant=[...])`` of the claimed messages' tenants.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DataError, InterfaceError, OperationalError, transaction
from django.db.models import BigIntegerField, Case, CharField, F, Value, When
from django.utils import timezone
from django_scopes import scope

from accounts.tenancy import tenant_of
from domains.dns import dkim_key_lookup
from reports.inbound.store import inbound_queue
from reports.ingest.batch import Parsed, batch_store
from reports.ingest.claims import (
    Claim,
    claim_batch,
    claim_interrupted,
    claim_one,
    claims_lock,
    claims_release,
    messages_waiting,
    processing_transaction,
)
from reports.metrics.drains import drain_batch_record
from reports.models import InboundMessage, Status
from reports.tlsrpt import Envelope, FoundReport, Limits, TlsRptError, extract

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Outcome:
    status: str
    error_code: str = ""
    error_message: str = ""
    reports: list[FoundReport] = field(default_factory=list)
    duplicate_of: int | None = None


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


@dataclass(slots=True)
class Drained:
    claimed: int
    # Messages still wait that others hold (a worker busy with them, or one that died and
    # whose database session has not ended yet): look again a little later.
    held_elsewhere: bool = False


def backlog_drain(*, seconds: float, wake: Callable[[], object]) -> Drained:
    """Process waiting messages in batches until none is left or ``seconds`` have passed.

    ``wake`` asks for another drain: once when a full batch shows a backlog (so another
    worker joins in), and at the end if time ran out with messages perhaps left.
    """
    deadline = monotonic() + seconds
    helped = False
    drained = Drained(0)
    while monotonic() < deadline:
        claims, more = claim_batch(
            limit=settings.INGEST_BATCH_SIZE, max_bytes=settings.INGEST_BATCH_BYTES
        )
        if not claims:
            interrupted = claim_interrupted()
            if interrupted is None:
                drained.held_elsewhere = messages_waiting()
                return drained
            claims = [interrupted]
        elif more and not helped:
            wake()
            helped = True
        started = monotonic()
        try:
            claims_run(claims)
        except BaseException:
            _release(claims)
            raise
        drain_batch_record(size=len(claims), seconds=monotonic() - started)
        drained.claimed += len(claims)
    wake()
    return drained


def _tenants(claims: list[Claim]) -> list[int]:
    """The claimed messages' tenants: the scope everything after the claim runs in."""
    return sorted({c.tenant_id for c in claims})


def _release(claims: list[Claim]) -> None:
    try:
        with scope(tenant=_tenants(claims)):
            claims_release([c.message_id for c in claims])
    except Exception:  # the database may be what failed; the claims then lapse with it
        logger.exception("Could not release %d claimed messages", len(claims))


def message_run(*, message_id: int) -> Outcome:
    """Claim and process one message; what ``process_inbound`` and ``manage.py ingest`` call.

    A message that is not waiting (already done, or held by another worker) is left as
    it is and its current outcome returned.
    """
    claim = claim_one(message_id)
    if claim is None:
        tenant_id = tenant_of(InboundMessage, message_id)
        if tenant_id is None:
            raise InboundMessage.DoesNotExist(f"No inbound message {message_id}.")
        with scope(tenant=tenant_id):
            return _current_outcome(message_id)
    return claims_run([claim])[message_id]


def claims_run(claims: list[Claim]) -> dict[int, Outcome]:
    """Process claimed messages, in the scope of their tenants: each one's outcome, by id."""
    with scope(tenant=_tenants(claims)):
        return _run(claims)


def _run(claims: list[Claim]) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    runnable = []
    for claim in claims:
        if claim.attempts > MAX_ATTEMPTS:
            outcomes[claim.message_id] = message_fail(
                message_id=claim.message_id,
                outcome=Outcome(
                    Status.FAILED,
                    "too_many_attempts",
                    f"Processing was interrupted {MAX_ATTEMPTS} times; the message was set aside.",
                ),
            )
        else:
            runnable.append(claim)
    if not runnable:
        return outcomes
    try:
        outcomes.update(_store(runnable, _parse(runnable)))
    except (OperationalError, InterfaceError):
        raise  # the database is unavailable: nothing is wrong with the messages; retry
    except SoftTimeLimitExceeded:
        if len(runnable) == 1:
            timeout = Outcome(Status.FAILED, "processing_timeout", "Processing took too long.")
            message_fail(message_id=runnable[0].message_id, outcome=timeout)
        raise
    except Exception as e:
        if len(runnable) > 1:
            # One message's numbers (or a bug it trips) spoil the batch: run them one by
            # one, so only that message fails.
            for claim in runnable:
                outcomes.update(claims_run([claim]))
        else:
            outcomes.update(_failed_alone(runnable[0], e))
    return outcomes


def _failed_alone(claim: Claim, error: Exception) -> dict[int, Outcome]:
    # OverflowError: SQLite's driver refuses to bind an integer past 64 bits.
    if isinstance(error, DataError | OverflowError):
        outcome = Outcome(
            Status.FAILED,
            "count_out_of_range",
            "Session counts add up past what can be stored (2^63 - 1).",
        )
    else:
        # A bug must not lose the message or show a traceback: keep it, reprocessable.
        logger.error("Storing inbound message %s failed", claim.message_id, exc_info=error)
        outcome = _internal_error()
    return {claim.message_id: message_fail(message_id=claim.message_id, outcome=outcome)}


def _parse(claims: list[Claim]) -> dict[int, Envelope | Outcome]:
    """Each message's envelope, or the outcome that parsing it came to (a failure)."""
    parsed: dict[int, Envelope | Outcome] = {}
    for claim in claims:
        try:
            parsed[claim.message_id] = envelope_extract(claim.raw, filename=claim.filename or None)
        except TlsRptError as e:
            parsed[claim.message_id] = Outcome(Status.FAILED, e.code, e.message)
        except SoftTimeLimitExceeded:
            raise
        except Exception:
            # A bug must not lose the message or show a traceback: keep it, reprocessable.
            logger.exception("Unexpected error parsing inbound message %s", claim.message_id)
            parsed[claim.message_id] = _internal_error()
    return parsed


def _store(claims: list[Claim], parsed: dict[int, Envelope | Outcome]) -> dict[int, Outcome]:
    with processing_transaction():
        # The rows' locks: a message reprocessed or run elsewhere meanwhile waits or is
        # skipped, never stored twice.
        waiting = claims_lock([c.message_id for c in claims])
        outcomes = {i: p for i, p in parsed.items() if i in waiting and isinstance(p, Outcome)}
        envelopes = [
            Parsed(c.message_id, c.tenant_id, p)
            for c in claims
            if c.message_id in waiting and isinstance(p := parsed[c.message_id], Envelope)
        ]
        stored = batch_store(envelopes)
        for found in envelopes:
            done = stored[found.message_id]
            outcomes[found.message_id] = Outcome(
                done.status, reports=found.envelope.reports, duplicate_of=done.duplicate_of
            )
        _outcomes_mark(outcomes, _origins([c for c in claims if c.message_id in waiting], outcomes))
    for claim in claims:
        if claim.message_id not in waiting:
            outcomes[claim.message_id] = _current_outcome(claim.message_id)
    return outcomes


Origins = dict[int, tuple[str, int | None]]  # message -> (file name, report it repeats)


def _outcomes_mark(outcomes: dict[int, Outcome], origins: Origins | None = None) -> None:
    """Set the outcome of each message still waiting: one UPDATE per distinct outcome,
    which also sets ``origins`` (file name, report repeated) where given, so that each
    message row is written once (a second UPDATE per row cost a third of the drain's
    throughput in workers)."""
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for message_id, outcome in outcomes.items():
        groups[outcome.status, outcome.error_code, outcome.error_message].append(message_id)
    now = timezone.now()
    for (status, code, message), ids in groups.items():
        fields: dict[str, Any] = {}
        named = [i for i in ids if origins and i in origins and origins[i][0]]
        repeats = [i for i in ids if origins and i in origins and origins[i][1]]
        if named and origins:
            fields["filename"] = Case(
                *(When(pk=i, then=Value(origins[i][0])) for i in named),
                default=F("filename"),
                output_field=CharField(),
            )
        if repeats and origins:
            fields["duplicate_of_id"] = Case(
                *(When(pk=i, then=Value(origins[i][1])) for i in repeats),
                default=F("duplicate_of_id"),
                output_field=BigIntegerField(),
            )
        InboundMessage.objects.filter(pk__in=ids, status=Status.RECEIVED).update(
            status=status, error_code=code, error_message=message, processed_at=now, **fields
        )


def _origins(claims: list[Claim], outcomes: dict[int, Outcome]) -> Origins:
    """Per message to note: the file names of the reports it carried, when it had none
    (an e-mail's attachments), and the report a duplicate repeats."""
    origins: Origins = {}
    for claim in claims:
        outcome = outcomes[claim.message_id]
        names = [] if claim.filename else [r.filename for r in outcome.reports if r.filename]
        if names or outcome.duplicate_of:
            name = claim.filename or ", ".join(dict.fromkeys(names))[:255]
            origins[claim.message_id] = (name, outcome.duplicate_of)
    return origins


def _current_outcome(message_id: int) -> Outcome:
    message = InboundMessage.objects.only("status", "error_code").get(pk=message_id)
    return Outcome(status=message.status, error_code=message.error_code)


def _internal_error() -> Outcome:
    return Outcome(
        Status.FAILED, "internal_error", "An internal error stopped processing; it can be retried."
    )


def message_fail(*, message_id: int, outcome: Outcome) -> Outcome:
    """Record ``outcome`` on a message that is still waiting, in the scope of its tenant;
    the raw bytes stay."""
    with processing_transaction():
        _outcomes_mark({message_id: outcome})
    return outcome


def message_reprocess(*, message: InboundMessage) -> bool:
    """Put a failed or unattributed message back in the queue; False if it cannot be."""
    with scope(tenant=message.tenant_id), transaction.atomic():
        # A fresh start: attempts too, or a message set aside after interruptions could
        # never be run again.
        updated = InboundMessage.objects.filter(
            pk=message.pk, status__in=[Status.FAILED, Status.UNATTRIBUTED]
        ).update(
            status=Status.RECEIVED,
            error_code="",
            error_message="",
            attempts=0,
            claimed_by=None,
            claimed_at=None,
        )
        if updated:
            transaction.on_commit(lambda: inbound_queue(message_id=message.pk))
    return bool(updated)
