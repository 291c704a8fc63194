"""Batched processing (reports.ingest.backlog_drain, the drain_inbound task).

In this process against the real PostgreSQL: the corpus stored in one batch comes out as
it does message by message; duplicates, bad numbers and poison inside a batch touch only
their own message. With real worker processes on Redis: the doors' wake-ups drain a
backlog from two tenants in batches on two workers, each message once, and a worker
killed mid-batch leaves every message processed exactly once.
"""

import json
from collections import Counter

import pytest
from django.db import connection
from django_scopes import get_scope, scope, scopes_disabled
from django_scopes.exceptions import ScopeError

from accounts.models import Tenant
from reports.inbound.store import inbound_store
from reports.ingest import messages as ingest_messages
from reports.ingest.batch import Parsed, batch_store
from reports.ingest.claims import claim_batch
from reports.ingest.messages import MAX_ATTEMPTS, backlog_drain, message_reprocess, message_run
from reports.ingest.wake import FLAG
from reports.models import (
    Channel,
    DailyFailure,
    DailyStat,
    FailureDetail,
    InboundMessage,
    PolicyResult,
    Report,
    Status,
)
from reports.tlsrpt import Envelope
from tests.conftest import wait_until
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import corpus, corpus_files
from tests.reports.mail import report_email, report_json
from tests.reports.test_ingest_corpus import EXPECTED
from tests.reports.test_worker import _waiting_on_locks, rollup_row_locked

pytestmark = pytest.mark.django_db(transaction=True)
BIG = 2**63 - 1


def _store(tenant: Tenant, raw: bytes, filename: str = "", queue: bool = False) -> int:
    return inbound_store(
        tenant=tenant, channel=Channel.UPLOAD, raw=raw, filename=filename, queue=queue
    ).pk


def _drain() -> int:
    woken: list[int] = []
    drained = backlog_drain(seconds=60, wake=lambda: woken.append(1))
    assert not drained.held_elsewhere
    return drained.claimed


def _messages(tenant: Tenant) -> list[InboundMessage]:
    with scope(tenant=tenant):
        return list(InboundMessage.objects.order_by("pk"))


STAT_FIELDS = (
    "domain__name", "day", "organization", "policy_type", "successful", "failed",
    "counted_successful", "counted_failed", "reports",
)  # fmt: skip
FAILURE_FIELDS = (
    "domain__name", "day", "policy_type", "result_type", "receiving_mx", "organization",
    "count", "counted",
)  # fmt: skip
REPORT_FIELDS = ("organization", "report_id", "successful", "failed")
POLICY_FIELDS = ("domain__name", "policy_type", "successful", "failed", "counted")


def _stored(tenant: Tenant) -> dict[str, object]:
    """What a tenant's rows add up to, without ids (comparable across tenants)."""
    with scope(tenant=tenant):
        return {
            "reports": sorted(Report.objects.values_list(*REPORT_FIELDS)),
            "policies": sorted(PolicyResult.objects.values_list(*POLICY_FIELDS)),
            "details": FailureDetail.objects.count(),
            "stats": sorted(DailyStat.objects.values_list(*STAT_FIELDS)),
            "failures": sorted(DailyFailure.objects.values_list(*FAILURE_FIELDS)),
        }


def test_the_corpus_in_one_batch_is_stored_as_message_by_message(settings) -> None:
    settings.INGEST_BATCH_SIZE = 1000
    settings.INGEST_BATCH_BYTES = 1 << 30
    batched, single = make_tenant("batched"), make_tenant("single")
    for tenant in (batched, single):
        for domain in sorted({expected[0] for expected in EXPECTED.values()}):
            make_domain(tenant, domain)
    names = corpus_files()
    batch_ids = [_store(batched, corpus(name), name) for name in names]
    single_outcomes = [
        message_run(message_id=_store(single, corpus(name), name)).status for name in names
    ]

    assert _drain() == len(names)

    messages = _messages(batched)
    assert [m.pk for m in messages] == batch_ids
    # One batch: one UPDATE set every outcome at the same moment.
    assert len({m.processed_at for m in messages}) == 1
    assert [m.status for m in messages] == single_outcomes
    # The same report arrives twice (fastmail's .eml and .json.gz): one is a duplicate.
    assert Counter(single_outcomes) == {Status.PROCESSED: len(names) - 1, Status.DUPLICATE: 1}
    assert {m.attempts for m in messages} == {1}
    assert _stored(batched) == _stored(single)


def test_a_report_twice_in_one_batch_and_one_already_stored_are_duplicates() -> None:
    acme, globex = make_tenant("acme"), make_tenant("globex")
    make_domain(acme, "example.org")
    make_domain(globex, "globex.example")
    stored_before = report_json(domain="example.org", report_id="known")
    message_run(message_id=_store(acme, json.dumps(stored_before).encode()))
    twice = report_json(domain="example.org", report_id="twice")
    # The same report for globex's domain, in globex's mailbox and in acme's.
    theirs = json.dumps(report_json(domain="globex.example", report_id="theirs")).encode()
    ids = [
        _store(acme, report_email(twice)),
        _store(acme, json.dumps(twice).encode()),
        _store(acme, report_email(stored_before)),
        _store(acme, theirs),
        _store(globex, theirs),
    ]

    assert _drain() == 5

    with scopes_disabled():
        statuses = dict(InboundMessage.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert [statuses[i] for i in ids] == [
        Status.PROCESSED, Status.DUPLICATE, Status.DUPLICATE, Status.UNATTRIBUTED,
        Status.PROCESSED,
    ]  # fmt: skip
    with scope(tenant=acme):
        assert sorted(Report.objects.values_list("report_id", flat=True)) == ["known", "twice"]
        stat = DailyStat.objects.get()
    assert (stat.successful, stat.failed, stat.reports) == (20, 4, 2)
    with scope(tenant=globex):
        report = Report.objects.get()
        assert (report.report_id, report.inbound_id) == ("theirs", ids[4])
        assert DailyStat.objects.get().domain.name == "globex.example"


def test_a_batch_runs_in_the_scope_of_its_tenants_alone(monkeypatch) -> None:
    """Only the claim crosses tenants: the batch is stored, and its outcomes marked, in the
    scope of the tenants whose messages it holds, and the scope ends with it."""
    acme, globex, idle = make_tenant("acme"), make_tenant("globex"), make_tenant("idle")
    for tenant, domain in ((acme, "example.org"), (globex, "globex.example")):
        make_domain(tenant, domain)
        _store(tenant, json.dumps(report_json(domain=domain)).encode())
    make_domain(idle, "idle.example")
    scopes = []

    def store(parsed: list[Parsed]) -> dict:
        scopes.append((get_scope().get("_enabled"), get_scope().get("tenant")))
        return batch_store(parsed)

    monkeypatch.setattr(ingest_messages, "batch_store", store)
    assert _drain() == 2

    assert scopes == [(True, sorted([acme.pk, globex.pk]))]
    assert "tenant" not in get_scope()
    with scopes_disabled():
        assert set(InboundMessage.objects.values_list("status", flat=True)) == {Status.PROCESSED}


def test_the_batch_store_refuses_to_run_outside_the_scope_of_its_tenants() -> None:
    acme, globex = make_tenant("acme"), make_tenant("globex")
    batch = [Parsed(1, acme.pk, Envelope(None, [])), Parsed(2, globex.pk, Envelope(None, []))]

    for outside in (scopes_disabled(), scope(tenant=acme.pk), scope(tenant=None)):
        with outside, pytest.raises(ScopeError, match="in the scope of its tenants"):
            batch_store(batch)
    with pytest.raises(ScopeError):
        batch_store(batch)  # no scope at all
    with scope(tenant=[acme.pk, globex.pk]):
        assert {i: s.status for i, s in batch_store(batch).items()} == {
            1: Status.UNATTRIBUTED, 2: Status.UNATTRIBUTED
        }  # fmt: skip


def test_numbers_past_64_bits_fail_their_message_only_and_bad_bytes_theirs() -> None:
    acme = make_tenant()
    make_domain(acme, "example.org")
    huge = report_json(domain="example.org", successful=BIG, failed=0)
    huge["policies"].append(huge["policies"][0])  # two counted policies: the sum overflows
    good = [json.dumps(report_json(domain="example.org")).encode() for _ in range(3)]
    ids = [
        _store(acme, good[0]),
        _store(acme, json.dumps(huge).encode()),
        _store(acme, good[1]),
        _store(acme, b"{not json"),
        _store(acme, good[2]),
    ]

    assert _drain() == 5

    with scope(tenant=acme):
        messages = {m.pk: m for m in InboundMessage.objects.all()}
        assert Report.objects.count() == 3
        stat = DailyStat.objects.get()
    outcomes = [(messages[i].status, messages[i].error_code) for i in ids]
    assert outcomes == [
        (Status.PROCESSED, ""),
        (Status.FAILED, "count_out_of_range"),
        (Status.PROCESSED, ""),
        (Status.FAILED, "json_invalid"),
        (Status.PROCESSED, ""),
    ]
    assert (stat.successful, stat.failed, stat.reports) == (30, 6, 3)


def test_a_bug_storing_one_message_fails_it_alone_and_it_can_be_reprocessed(monkeypatch) -> None:
    from reports.ingest import batch

    acme = make_tenant()
    make_domain(acme, "example.org")
    documents = [report_json(domain="example.org") for _ in range(3)]
    ids = [_store(acme, json.dumps(d).encode()) for d in documents]
    plan = batch._plan

    def buggy(message, found, verified, **kwargs):
        if found.report.report_id == documents[1]["report-id"]:
            raise KeyError("a bug in our code")
        return plan(message, found, verified, **kwargs)

    monkeypatch.setattr(batch, "_plan", buggy)
    assert _drain() == 3

    with scopes_disabled():
        messages = {m.pk: m for m in InboundMessage.objects.all()}
    assert [(messages[i].status, messages[i].error_code) for i in ids] == [
        (Status.PROCESSED, ""), (Status.FAILED, "internal_error"), (Status.PROCESSED, "")
    ]  # fmt: skip
    assert "Traceback" not in messages[ids[1]].error_message

    monkeypatch.setattr(batch, "_plan", plan)
    assert message_reprocess(message=messages[ids[1]])
    assert _drain() == 1
    with scope(tenant=acme):
        assert InboundMessage.objects.get(pk=ids[1]).status == Status.PROCESSED
        assert Report.objects.count() == 3


def test_interrupted_messages_run_alone_and_are_set_aside_after_max_attempts() -> None:
    acme = make_tenant()
    make_domain(acme, "example.org")
    fresh = [_store(acme, json.dumps(report_json(domain="example.org")).encode()) for _ in "ab"]
    interrupted = _store(acme, json.dumps(report_json(domain="example.org")).encode())
    poison = _store(acme, json.dumps(report_json(domain="example.org")).encode())
    with scopes_disabled():
        InboundMessage.objects.filter(pk=interrupted).update(attempts=1)
        InboundMessage.objects.filter(pk=poison).update(attempts=MAX_ATTEMPTS)

    claims, more = claim_batch(limit=10, max_bytes=1 << 20)
    # A batch takes only fresh messages; the claim is counted at once.
    assert ([c.message_id for c in claims], more) == (fresh, False)
    with scopes_disabled():
        InboundMessage.objects.filter(pk__in=fresh).update(claimed_by=None, attempts=0)

    assert _drain() == 4

    with scopes_disabled():
        messages = {m.pk: m for m in InboundMessage.objects.all()}
    assert {messages[i].status for i in [*fresh, interrupted]} == {Status.PROCESSED}
    assert messages[interrupted].attempts == 2
    assert (messages[poison].status, messages[poison].error_code) == (
        Status.FAILED, "too_many_attempts"
    )  # fmt: skip
    # Each interrupted message was stored in a transaction of its own.
    assert messages[interrupted].processed_at != messages[fresh[0]].processed_at


def test_a_batch_stops_at_its_byte_limit_but_takes_one_message_whatever_its_size() -> None:
    acme = make_tenant()
    ids = [_store(acme, b"x" * 1000) for _ in range(5)]

    first, more = claim_batch(limit=10, max_bytes=2500)
    second, _ = claim_batch(limit=10, max_bytes=10)

    assert ([c.message_id for c in first], more) == (ids[:2], True)
    assert [c.message_id for c in second] == ids[2:3]


def _broker_queued(broker_url: str) -> tuple[int, bool]:
    import redis

    client = redis.Redis.from_url(broker_url)
    return client.llen("ingest"), bool(client.exists(FLAG))


def test_many_stored_messages_queue_one_drain(broker_url: str) -> None:
    import redis

    redis.Redis.from_url(broker_url).delete("ingest")
    acme = make_tenant()
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        for _ in range(20):
            _store(acme, b"{}", queue=True)

    assert _broker_queued(broker_url) == (1, True)


def test_a_backlog_from_two_tenants_drains_in_batches_on_two_workers(worker_processes) -> None:
    tenants = {slug: make_tenant(slug) for slug in ("acme", "globex")}
    for slug, tenant in tenants.items():
        make_domain(tenant, f"{slug}.example")
    ids = {
        slug: [
            _store(tenant, report_email(report_json(domain=f"{slug}.example")), queue=True)
            for _ in range(60)
        ]
        for slug, tenant in tenants.items()
    }

    worker_processes("drain", concurrency=2, INGEST_BATCH_SIZE="15")
    wait_until(_none_waiting, timeout=120)

    for slug, tenant in tenants.items():
        messages = _messages(tenant)
        assert [m.pk for m in messages] == ids[slug]
        assert {(m.status, m.attempts) for m in messages} == {(Status.PROCESSED, 1)}
        # Batches: far fewer distinct commit moments than messages.
        assert len({m.processed_at for m in messages}) < 20
        with scope(tenant=tenant):
            assert Report.objects.count() == 60
            assert {d.domain.name for d in DailyStat.objects.select_related("domain")} == {
                f"{slug}.example"
            }
            assert DailyStat.objects.get().reports == 60


def _none_waiting() -> bool:
    with scopes_disabled():
        return not InboundMessage.objects.filter(status=Status.RECEIVED).exists()


@pytest.mark.postgresql_only(
    reason=(
        "a row lock held by another session, and claims freed when the killed worker's "
        "session ends; SQLite locks the whole file and voids claims by age"
    )
)
def test_a_worker_killed_mid_batch_leaves_each_message_processed_exactly_once(
    worker_processes,
) -> None:
    acme = make_tenant()
    domain = make_domain(acme, "example.org")
    documents = [report_json(domain="example.org", organization="Killed Inc.") for _ in range(5)]
    with rollup_row_locked(acme, domain, "Killed Inc.") as stat:
        ids = [_store(acme, report_email(d), queue=True) for d in documents]
        doomed = worker_processes("doomed")
        # The batch has stored its reports in an open transaction and waits on the row.
        wait_until(lambda: _waiting_on_locks() == 1, timeout=60)
        doomed.kill()

    worker_processes("survivor")
    wait_until(_none_waiting, timeout=90)
    with scopes_disabled():
        messages = list(InboundMessage.objects.filter(pk__in=ids))
    assert {m.status for m in messages} == {Status.PROCESSED}
    with scope(tenant=acme):
        assert Report.objects.count() == 5
        stat.refresh_from_db()
    assert (stat.successful, stat.failed, stat.reports) == (50, 10, 5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM reports_failuredetail")
        assert cursor.fetchone()[0] == 5
