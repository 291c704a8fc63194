"""How far a self-test got, read from the ingest's own rows: the door's answer (the
``SelfTest`` row), the message each door stored (found by the SHA-256 of the bytes it
was given), its processing, and the report shown as a test.

Each step is done, waiting or failed; a step waiting past ``STALLED`` names the part
that is not doing its job (no worker on a queue). Callers are in the tenant's scope.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from reports.models import InboundMessage, Report, Status
from reports.selftest.models import DoorStatus, SelfTest
from reports.selftest.services import smtp_door

STALLED = timedelta(minutes=2)

DONE, WAITING, FAILED = "done", "waiting", "failed"


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    state: str
    detail: str
    message_ids: list[int] = field(default_factory=list)  # the ingest log's rows
    report_pk: int | None = None


@dataclass(frozen=True)
class Progress:
    test: SelfTest
    steps: list[Step]

    @property
    def outcome(self) -> str:
        """``passed``, ``failed`` or ``running``."""
        if any(s.state == FAILED for s in self.steps):
            return "failed"
        return "passed" if all(s.state == DONE for s in self.steps) else "running"

    @property
    def finished(self) -> bool:
        return self.outcome != "running"


def self_test_progress(test: SelfTest, *, now: datetime | None = None) -> Progress:
    now = now or timezone.now()
    hashes = {h for h in (test.smtp_sha256, test.https_sha256) if h}
    messages = list(
        InboundMessage.objects.filter(sha256__in=hashes, received_at__gte=test.started_at)
        .only("pk", "status", "error_code", "error_message", "received_at", "sha256")
        .order_by("pk")
        if hashes
        else []
    )
    report = Report.objects.filter(report_id=test.report_id).only("pk", "is_test").first()
    steps = [_smtp_step(test, now)]
    if test.https_status != DoorStatus.NOT_ASKED:
        steps.append(_https_step(test, now))
    sent = any(s.state == DONE for s in steps)
    steps.append(_stored_step(messages, sent))
    steps.append(_processed_step(test, messages, now))
    steps.append(_shown_step(test, report))
    return Progress(test, steps)


def _door_waiting(test: SelfTest, now: datetime, label: str, key: str) -> Step:
    if now - test.started_at > STALLED:
        detail = "No worker has sent it yet: is a Celery worker consuming the default queue?"
        return Step(key, label, FAILED, detail)
    return Step(key, label, WAITING, "Waiting for a worker to send it.")


def _smtp_step(test: SelfTest, now: datetime) -> Step:
    host, port = smtp_door()
    label = "Sent through the SMTP door"
    if test.smtp_status == DoorStatus.PENDING:
        return _door_waiting(test, now, label, "smtp")
    if test.smtp_status == DoorStatus.FAILED:
        return Step("smtp", label, FAILED, test.smtp_error)
    return Step("smtp", label, DONE, f"The SMTP door at {host}:{port} took it.")


def _https_step(test: SelfTest, now: datetime) -> Step:
    label = "Posted to the HTTPS door"
    if test.https_status == DoorStatus.PENDING:
        return _door_waiting(test, now, label, "https")
    if test.https_status == DoorStatus.FAILED:
        return Step("https", label, FAILED, test.https_error)
    return Step("https", label, DONE, "The HTTPS door took it (201).")


def _stored_step(messages: list[InboundMessage], sent: bool) -> Step:
    label = "Stored in the ingest log"
    if messages:
        numbers = ", ".join(f"#{m.pk}" for m in messages)
        return Step("stored", label, DONE, f"Message {numbers}.", [m.pk for m in messages])
    return Step("stored", label, WAITING, "Waiting for the door to store it." if sent else "")


_DONE_STATUSES = (Status.PROCESSED, Status.DUPLICATE)


def _processed_step(test: SelfTest, messages: list[InboundMessage], now: datetime) -> Step:
    label = "Processed"
    ids = [m.pk for m in messages]
    if not messages:
        return Step("processed", label, WAITING, "", ids)
    for m in messages:
        if m.status == Status.UNATTRIBUTED:
            detail = (
                f"The report was for {test.domain.name}, which is not verified: reports "
                "only count for verified domains."
            )
            return Step("processed", label, FAILED, detail, ids)
        if m.status in (Status.FAILED, Status.DUPLICATE_CONFLICTING):
            detail = f"Processing failed: {m.error_code or m.status} {m.error_message}".strip()
            return Step("processed", label, FAILED, detail, ids)
    waiting = [m for m in messages if m.status not in _DONE_STATUSES]
    if not waiting:
        return Step("processed", label, DONE, "The report was read and stored.", ids)
    if now - min(m.received_at for m in waiting) > STALLED:
        detail = "Stored but not processed: is a Celery worker consuming the ingest queue?"
        return Step("processed", label, FAILED, detail, ids)
    return Step("processed", label, WAITING, "Waiting for the ingest worker.", ids)


def _shown_step(test: SelfTest, report: Report | None) -> Step:
    label = "On the dashboard as a test"
    if report is None:
        return Step("shown", label, WAITING, "")
    if not report.is_test:  # cannot happen while the row exists; said plainly if it does
        return Step("shown", label, FAILED, "The report was counted as a real one.")
    detail = "Shown as a test report; it counts in no total, alert or digest."
    return Step("shown", label, DONE, detail, report_pk=report.pk)
