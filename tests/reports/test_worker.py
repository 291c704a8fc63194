"""Processing through real Celery workers on Redis: hostile input, races, a killed worker."""

import gzip
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant
from domains.models import Domain
from reports.inbound.store import inbound_store
from reports.models import Channel, DailyStat, InboundMessage, Report, Status
from reports.tasks import process_inbound
from tests.conftest import database_url, wait_until
from tests.factories import make_domain, make_tenant
from tests.reports.mail import report_email, report_json

pytestmark = pytest.mark.celery_worker


def _status(message_id: int) -> str:
    with scopes_disabled():
        return InboundMessage.objects.get(pk=message_id).status


def _done(*ids: int):
    return lambda: all(_status(i) != Status.RECEIVED for i in ids)


def _gzip_bomb(inflated: int) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as f:
        chunk = b" " * (1024 * 1024)
        for _ in range(inflated // len(chunk)):
            f.write(chunk)
    return out.getvalue()


def _mime_parts(parts: int) -> bytes:
    body = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(parts))
    return (
        f'Content-Type: multipart/mixed; boundary="b"\r\nSubject: parts\r\n\r\n{body}--b--\r\n'
    ).encode()


def _hostile_inputs() -> dict[str, bytes]:
    valid = report_json(domain="example.org")
    negative = report_json(domain="example.org")
    negative["policies"][0]["summary"]["total-successful-session-count"] = -1
    huge = json.dumps(report_json(domain="example.org")).replace(
        '"total-successful-session-count": 10', '"total-successful-session-count": 1' + "0" * 30
    )
    return {
        "decompressed_too_large": _gzip_bomb(60 * 1024 * 1024),
        "gzip_invalid": gzip.compress(json.dumps(valid).encode())[:-20],
        "json_invalid": b"{this is not json at all",
        "not_a_report  ": b"this is neither JSON nor an email",
        "json_too_deep": b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "schema_invalid": json.dumps(negative).encode(),
        "schema_invalid ": huge.encode(),
        "json_invalid ": json.dumps(valid)
        .replace('"total-successful-session-count": 10', '"total-successful-session-count": NaN')
        .encode(),
        "encoding_invalid": json.dumps(valid).encode().replace(b"Example", b"Ex\xffample"),
        "too_many_parts": _mime_parts(10_000),
        "message_too_large": b" " * (25 * 1024 * 1024 + 1),
        "not_a_report": b"From: a@b.example\r\nSubject: hello\r\n\r\nJust a note.\r\n",
    }


def test_hostile_inputs_fail_with_their_codes_and_the_worker_keeps_working(
    celery_worker: object,
) -> None:
    tenant = make_tenant()
    make_domain(tenant, "example.org")
    hostile = _hostile_inputs()
    ids = {
        code: inbound_store(tenant=tenant, channel=Channel.UPLOAD, raw=raw).pk
        for code, raw in hostile.items()
    }
    good = inbound_store(
        tenant=tenant, channel=Channel.UPLOAD, raw=report_email(report_json(domain="example.org"))
    ).pk

    wait_until(_done(good, *ids.values()), timeout=120)

    with scopes_disabled():
        for code, message_id in ids.items():
            message = InboundMessage.objects.get(pk=message_id)
            assert (message.status, message.error_code) == (Status.FAILED, code.strip())
            assert "Traceback" not in message.error_message
        assert _status(good) == Status.PROCESSED


@contextmanager
def rollup_row_locked(tenant: Tenant, domain: Domain, organization: str) -> Iterator[DailyStat]:
    """Hold a lock on the rollup row a task will update, so tasks block mid-transaction."""
    with scopes_disabled():
        stat = DailyStat.objects.create(
            tenant=tenant, domain=domain, day="2026-11-01",
            organization=organization, policy_type="sts",
        )  # fmt: skip
    with psycopg.connect(database_url().replace("postgres://", "postgresql://")) as lock:
        lock.execute("SELECT 1 FROM reports_dailystat WHERE id = %s FOR UPDATE", [stat.pk])
        yield stat
        lock.rollback()


@pytest.mark.postgresql_only(
    reason=(
        "two workers racing on row locks (SKIP LOCKED claims, a row held by another "
        "session); SQLite runs one writer at a time"
    )
)
def test_one_report_in_two_messages_on_two_workers_at_once_is_stored_once(
    worker_processes,
) -> None:
    tenant = make_tenant()
    domain = make_domain(tenant, "example.org")
    document = report_json(domain="example.org", report_id="same-report", organization="Race")
    raws = [report_email(document), json.dumps(document).encode()]
    with rollup_row_locked(tenant, domain, "Race") as stat:
        # One process_inbound task each (a drain would take both in one batch).
        ids = [
            inbound_store(tenant=tenant, channel=Channel.UPLOAD, raw=raw, queue=False).pk
            for raw in raws
        ]
        for message_id in ids:
            process_inbound.delay(message_id)
        worker_processes("race-a")
        worker_processes("race-b")
        # Both in flight at once: one waits on the rollup row, the other on the report's
        # unique key held by the first one's open transaction.
        wait_until(lambda: _waiting_on_locks() == 2, timeout=60)

    wait_until(_done(*ids), timeout=60)

    statuses = sorted(_status(i) for i in ids)
    assert statuses == [Status.DUPLICATE, Status.PROCESSED]
    with scope(tenant=tenant):
        assert Report.objects.count() == 1
        stat.refresh_from_db()
    assert (stat.counted_successful, stat.reports) == (10, 1)


@pytest.mark.postgresql_only(
    reason=(
        "a row lock held by another session, and claims freed when the killed worker's "
        "session ends; SQLite locks the whole file and voids claims by age"
    )
)
def test_a_worker_killed_mid_task_leaves_the_message_processed_exactly_once(
    worker_processes,
) -> None:
    tenant = make_tenant()
    domain = make_domain(tenant, "example.org")
    document = report_json(domain="example.org", organization="Killed Inc.")
    with rollup_row_locked(tenant, domain, "Killed Inc.") as stat:
        message_id = inbound_store(
            tenant=tenant, channel=Channel.UPLOAD, raw=report_email(document), queue=False
        ).pk
        process_inbound.delay(message_id)
        doomed = worker_processes("doomed")
        # The task has stored the report in its open transaction and waits on the row.
        wait_until(lambda: _waiting_on_locks() == 1, timeout=60)
        doomed.kill()

    worker_processes("survivor")
    wait_until(_done(message_id), timeout=60)

    assert _status(message_id) == Status.PROCESSED
    with scope(tenant=tenant):
        assert Report.objects.count() == 1
        stat.refresh_from_db()
    assert (stat.successful, stat.failed, stat.reports) == (10, 2, 1)


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]
