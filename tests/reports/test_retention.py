"""The daily retention purge against the real PostgreSQL, and its task on a real worker."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from domains.models import CheckKind, CheckStatus, DnsCheck
from reports.inbound.models import Limit
from reports.inbound.store import inbound_store
from reports.ingest.partitions import month_start, partitions_ensure
from reports.ingest.retention import purge_expired
from reports.models import (
    Channel,
    DailyFailure,
    DailyStat,
    FailureDetail,
    InboundMessage,
    InboundRefusal,
    PolicyResult,
    Report,
)
from reports.selftest.models import SelfTest
from tests.conftest import wait_until
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import ingest
from tests.reports.mail import report_json

pytestmark = pytest.mark.django_db


def _aged(message: InboundMessage, days: int) -> None:
    with scopes_disabled():
        InboundMessage.objects.filter(pk=message.pk).update(
            received_at=timezone.now() - timedelta(days=days)
        )


def _report(tenant, domain: str, day: str, age_days: int = 0) -> InboundMessage:
    message, _ = ingest(tenant, json.dumps(report_json(domain=domain, day=day)).encode())
    _aged(message, age_days)
    return message


def _exists(model, pk: int) -> bool:
    with scopes_disabled():
        return model.objects.filter(pk=pk).exists()


def test_old_messages_and_reports_go_rollups_and_waiting_messages_stay(settings) -> None:
    settings.INBOUND_RETENTION_DAYS = 90
    settings.REPORT_RETENTION_DAYS = 730
    acme, globex = make_tenant("acme"), make_tenant("globex")
    make_domain(acme, "acme.example")
    make_domain(globex, "globex.example")
    today = timezone.now().date()
    recent_day = (today - timedelta(days=10)).isoformat()
    old_day = (today - timedelta(days=800)).isoformat()

    old_message = _report(acme, "acme.example", recent_day, age_days=100)
    recent_message = _report(globex, "globex.example", recent_day, age_days=5)
    old_report_message = _report(globex, "globex.example", old_day, age_days=800)
    failed, _ = ingest(acme, b"{not json")
    _aged(failed, 100)
    waiting = inbound_store(tenant=acme, channel=Channel.UPLOAD, raw=b"{}", queue=False)
    _aged(waiting, 100)
    with scopes_disabled():
        kept_report = Report.objects.get(inbound=old_message)
        old_report = Report.objects.get(inbound=old_report_message)
        old_policy = PolicyResult.objects.get(report=old_report)
        stats_before = sorted(DailyStat.objects.values_list("domain_id", "day", "successful"))
        failures_before = DailyFailure.objects.count()

    purged = purge_expired()

    assert (purged.inbound, purged.reports, purged.more) == (3, 1, False)
    assert not _exists(InboundMessage, old_message.pk)
    assert not _exists(InboundMessage, failed.pk)
    assert not _exists(InboundMessage, old_report_message.pk)
    assert _exists(InboundMessage, recent_message.pk)
    assert _exists(InboundMessage, waiting.pk)
    assert not _exists(Report, old_report.pk)
    assert not _exists(PolicyResult, old_policy.pk)
    with scopes_disabled():
        assert not FailureDetail.objects.filter(policy_id=old_policy.pk).exists()
        kept_report.refresh_from_db()
        assert kept_report.inbound_id is None
        assert FailureDetail.objects.filter(policy__report=kept_report).count() == 1
        # The rollups are never purged: old days keep their figures.
        assert sorted(DailyStat.objects.values_list("domain_id", "day", "successful")) == (
            stats_before
        )
        assert DailyFailure.objects.count() == failures_before
    with scope(tenant=globex):
        assert Report.objects.count() == 1


def _check(domain, kind: str, status: str, days_ago: int, changed: bool = False) -> DnsCheck:
    with scopes_disabled():
        return DnsCheck.objects.create(
            tenant_id=domain.tenant_id, domain=domain, kind=kind, status=status,
            checked_at=timezone.now() - timedelta(days=days_ago), changed=changed,
        )  # fmt: skip


def test_old_dns_checks_go_but_changes_and_each_kinds_latest_stay(settings) -> None:
    settings.DNS_CHECK_RETENTION_DAYS = 90
    acme = make_tenant()
    domain = make_domain(acme, "acme.example")
    sts, mx = CheckKind.MTA_STS, CheckKind.MX
    ok, unknown = CheckStatus.OK, CheckStatus.UNKNOWN
    superseded = _check(domain, sts, ok, 200)
    change = _check(domain, sts, CheckStatus.ERROR, 150, changed=True)
    superseded_unknown = _check(domain, sts, unknown, 120)
    older_ok = _check(domain, sts, ok, 100)
    recent = _check(domain, sts, ok, 10)
    # MX: the latest definitive run is old and only unknowns came after it.
    latest_definitive_mx = _check(domain, mx, ok, 300)
    old_unknown_mx = _check(domain, mx, unknown, 200)
    latest_mx = _check(domain, mx, unknown, 150)

    purged = purge_expired()

    with scopes_disabled():
        kept = set(DnsCheck.objects.values_list("pk", flat=True))
    assert kept == {c.pk for c in (change, recent, latest_definitive_mx, latest_mx)}
    assert purged.dns_checks == 4
    gone = (superseded, superseded_unknown, older_ok, old_unknown_mx)
    assert not any(_exists(DnsCheck, c.pk) for c in gone)


def test_zero_keeps_everything_and_a_spent_budget_says_more_is_left(settings) -> None:
    acme = make_tenant()
    make_domain(acme, "acme.example")
    message = _report(acme, "acme.example", "2020-01-01", age_days=3000)
    settings.INBOUND_RETENTION_DAYS = 0
    settings.REPORT_RETENTION_DAYS = 0
    settings.DNS_CHECK_RETENTION_DAYS = 0

    assert purge_expired().inbound == 0
    assert _exists(InboundMessage, message.pk)

    settings.INBOUND_RETENTION_DAYS = 1
    assert purge_expired(seconds=0).more
    assert _exists(InboundMessage, message.pk)


def test_the_beat_task_purges_on_a_real_worker(settings, celery_worker) -> None:
    from reports.ingest.tasks import purge_expired_rows

    settings.INBOUND_RETENTION_DAYS = 30
    acme = make_tenant()
    make_domain(acme, "acme.example")
    message = _report(acme, "acme.example", timezone.now().date().isoformat(), age_days=31)

    purge_expired_rows.delay()

    wait_until(lambda: not _exists(InboundMessage, message.pk), timeout=30)
    with scope(tenant=acme):
        assert Report.objects.get().inbound_id is None


def test_refusal_records_go_after_the_inbound_retention(settings) -> None:
    settings.INBOUND_RETENTION_DAYS = 90
    acme = make_tenant("acme")
    now = timezone.now()
    with scope(tenant=acme):
        for age in (100, 91, 89, 0):
            InboundRefusal.objects.create(
                tenant=acme, day=(now - timedelta(days=age)).date(), channel=Channel.SMTP,
                limit=Limit.DAILY_MESSAGES, count=1, first_at=now, last_at=now,
            )  # fmt: skip

    purged = purge_expired()

    assert purged.refusals == 2
    with scope(tenant=acme):
        ages = sorted((now.date() - r.day).days for r in InboundRefusal.objects.all())
    assert ages == [0, 89]


def test_self_tests_go_after_the_inbound_retention(settings) -> None:
    settings.INBOUND_RETENTION_DAYS = 90
    acme = make_tenant("acme")
    domain = make_domain(acme, "acme.example")
    now = timezone.now()
    with scope(tenant=acme):
        for age in (100, 10):
            SelfTest.objects.create(
                tenant=acme, domain=domain, report_id=f"selftest-{age}",
                started_at=now - timedelta(days=age),
            )  # fmt: skip

    purged = purge_expired()

    assert purged.self_tests == 1
    with scope(tenant=acme):
        assert list(SelfTest.objects.values_list("report_id", flat=True)) == ["selftest-10"]


@pytest.mark.parametrize("own_month", [False, True], ids=["rows", "month"])
def test_a_purged_report_leaves_the_message_that_repeated_it_without_it(
    settings, own_month: bool
) -> None:
    """The purge deletes reports in bulk, or on PostgreSQL drops their month's partitions
    (``own_month``: the month has one): what points at them is done by hand."""
    settings.INBOUND_RETENTION_DAYS = 0  # messages kept
    settings.REPORT_RETENTION_DAYS = 730
    acme = make_tenant("acme")
    make_domain(acme, "acme.example")
    old_day = timezone.now().date() - timedelta(days=800)
    if own_month:
        partitions_ensure(today=month_start(old_day), ahead=0)
    document = json.dumps(report_json(domain="acme.example", day=old_day.isoformat())).encode()
    first, _ = ingest(acme, document)
    repeat, _ = ingest(acme, document)
    with scopes_disabled():
        report = Report.objects.get()
        assert InboundMessage.objects.get(pk=repeat.pk).duplicate_of_id == report.pk
        policies = list(PolicyResult.objects.filter(report=report).values_list("pk", flat=True))
        assert policies and FailureDetail.objects.filter(policy_id__in=policies).exists()

    if connection.vendor == "postgresql":  # as at the end of ingest's own transaction
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    purged = purge_expired()

    if own_month and connection.vendor == "postgresql":  # its report, policy and detail
        assert purged.reports == 0 and purged.partitions >= 3
    else:
        assert purged.reports == 1
    with scopes_disabled():
        assert not Report.objects.exists()
        assert not PolicyResult.objects.filter(pk__in=policies).exists()
        assert not FailureDetail.objects.filter(policy_id__in=policies).exists()
        assert InboundMessage.objects.get(pk=repeat.pk).duplicate_of_id is None
        assert InboundMessage.objects.filter(pk=first.pk).exists()
