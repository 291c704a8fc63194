"""Alerts: opened by the conditions that hold, resolved when they clear, emailed once."""

import json
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant
from domains.checks import domain_health_check
from domains.findings import Finding, Level
from domains.models import CheckKind, DnsCheck, Domain
from reports.alerts.rules import alerts_evaluate
from reports.alerts.tasks import evaluate_alerts, send_alert_email
from reports.models import Alert, AlertKind
from tests.conftest import wait_until
from tests.domains.zones import break_sts, publish_good
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import ingest
from tests.reports.mail import report_json

TODAY = date(2026, 11, 20)


def report(tenant: Tenant, domain: str, day: date, ok: int, failed: int, **options) -> None:
    document = report_json(
        domain=domain, day=day.isoformat(), successful=ok, failed=failed,
        organization=options.get("organization", "Example Sender"),
    )  # fmt: skip
    if failed and "result_type" in options:
        document["policies"][0]["failure-details"][0]["result-type"] = options["result_type"]
    ingest(tenant, json.dumps(document).encode(), "report.json")


def evaluate(tenant: Tenant, today: date = TODAY):
    with scope(tenant=tenant.pk):
        return alerts_evaluate(tenant=tenant, today=today)


def open_alerts(tenant: Tenant) -> list[tuple[str, str]]:
    with scope(tenant=tenant.pk):
        return sorted(Alert.objects.filter(resolved_at=None).values_list("kind", "key"))


@pytest.fixture
def acme_domain(acme: Tenant) -> Domain:
    return make_domain(acme, "acme.test")


def baseline(tenant: Tenant, domain: str, failed: int = 0, result_type: str = "") -> None:
    """Four quiet weeks before the window: 1,000 sessions a day."""
    for n in range(3, 31):
        options = {"result_type": result_type} if result_type else {}
        report(tenant, domain, TODAY - timedelta(days=n), 1000 - failed, failed, **options)


@pytest.mark.django_db
def test_a_failure_rate_over_the_threshold_opens_one_alert_with_the_fix(acme, acme_domain):
    report(acme, "acme.test", TODAY - timedelta(days=1), 90, 10)
    result = evaluate(acme)
    assert [(a.kind, a.key) for a in result.opened] == [(AlertKind.FAILURE_RATE, "")]
    alert = result.opened[0]
    assert alert.title == "acme.test: 10.0 % of TLS sessions failed"
    assert "10 of 100 sessions" in alert.message and "certificate-expired" in alert.message
    assert "Renew" in alert.fix or "certificate" in alert.fix
    assert evaluate(acme).opened == []  # still open, not opened again


@pytest.mark.django_db
def test_the_alert_resolves_when_the_condition_clears(acme, acme_domain) -> None:
    report(acme, "acme.test", TODAY - timedelta(days=1), 90, 10)
    evaluate(acme)
    with scopes_disabled():
        Domain.objects.filter(pk=acme_domain.pk).update(failure_rate_threshold=20)
    acme_domain.refresh_from_db()
    result = evaluate(acme)
    assert [a.kind for a in result.resolved] == [AlertKind.FAILURE_RATE]
    assert open_alerts(acme) == []


@pytest.mark.django_db
def test_three_times_the_usual_rate_opens_a_spike_alert(acme, acme_domain) -> None:
    baseline(acme, "acme.test", failed=10)  # 1 %
    report(acme, "acme.test", TODAY - timedelta(days=1), 960, 40)  # 4 %: under 5 %
    assert open_alerts(acme) == [] and evaluate(acme).opened
    assert open_alerts(acme) == [(AlertKind.FAILURE_SPIKE, "")]


@pytest.mark.django_db
def test_a_new_failure_type_is_an_alert_of_its_own(acme, acme_domain) -> None:
    baseline(acme, "acme.test", failed=1, result_type="certificate-expired")
    report(acme, "acme.test", TODAY, 999, 1, result_type="starttls-not-supported")
    evaluate(acme)
    assert (AlertKind.NEW_FAILURE_TYPE, "starttls-not-supported") in open_alerts(acme)
    assert (AlertKind.NEW_FAILURE_TYPE, "certificate-expired") not in open_alerts(acme)


@pytest.mark.django_db
def test_a_daily_reporter_going_silent_for_three_days(acme, acme_domain) -> None:
    for n in range(4, 11):
        report(acme, "acme.test", TODAY - timedelta(days=n), 10, 0, organization="Google")
        report(acme, "acme.test", TODAY - timedelta(days=n), 10, 0, organization="Microsoft")
    report(acme, "acme.test", TODAY - timedelta(days=1), 10, 0, organization="Microsoft")
    evaluate(acme)
    assert open_alerts(acme) == [(AlertKind.REPORTER_SILENT, "Google")]


def _check(domain: Domain, kind: str, status: str, findings: list[Finding], days_ago: int):
    with scopes_disabled():
        DnsCheck.objects.create(
            tenant_id=domain.tenant_id, domain=domain, kind=kind, status=status,
            findings=[f.as_dict() for f in findings],
            checked_at=timezone.now() - timedelta(days=days_ago),
        )  # fmt: skip


@pytest.mark.django_db
def test_dns_problems_open_alerts_and_their_fix_comes_along(dns, sts, acme, acme_domain):
    publish_good(dns, sts, acme, "acme.test")
    break_sts(sts, "acme.test")
    dns.records.pop(("_smtp._tls.acme.test", "TXT"))
    with scope(tenant=acme.pk):
        domain_health_check(domain=acme_domain)
    result = evaluate(acme, timezone.now().date())
    by_kind = {a.kind: a for a in result.opened}
    assert set(by_kind) == {AlertKind.STS_UNREACHABLE, AlertKind.TLSRPT_RECORD}
    assert "404" in by_kind[AlertKind.STS_UNREACHABLE].message
    assert "200" in by_kind[AlertKind.STS_UNREACHABLE].fix
    assert acme.inbound_address in by_kind[AlertKind.TLSRPT_RECORD].fix


@pytest.mark.django_db
def test_mta_sts_in_testing_for_a_month_raises_one(acme, acme_domain) -> None:
    testing = Finding(Level.WARNING, "sts_policy_testing", "Mode testing.", "Switch to enforce.")
    _check(acme_domain, CheckKind.MTA_STS, "warning", [testing], days_ago=29)
    evaluate(acme, timezone.now().date())
    assert open_alerts(acme) == []
    _check(acme_domain, CheckKind.MTA_STS, "warning", [testing], days_ago=31)
    evaluate(acme, timezone.now().date())
    assert open_alerts(acme) == [(AlertKind.STS_TESTING, "")]


@pytest.mark.django_db
def test_an_unknown_dns_answer_neither_opens_nor_resolves(acme, acme_domain) -> None:
    missing = Finding(Level.ERROR, "tlsrpt_missing", "No record.", "Publish it.")
    _check(acme_domain, CheckKind.TLSRPT, "error", [missing], days_ago=1)
    evaluate(acme, timezone.now().date())
    unknown = Finding(Level.UNKNOWN, "tlsrpt_unknown", "No answer.")
    _check(acme_domain, CheckKind.TLSRPT, "unknown", [unknown], days_ago=0)
    evaluate(acme, timezone.now().date())
    assert open_alerts(acme) == [(AlertKind.TLSRPT_RECORD, "")]


@pytest.mark.django_db
def test_evaluation_and_alerts_stay_in_their_tenant(acme, acme_domain, owner: Client) -> None:
    other = make_tenant("other")
    make_domain(other, "other.test")
    report(other, "other.test", TODAY - timedelta(days=1), 50, 50)
    report(acme, "acme.test", TODAY - timedelta(days=1), 90, 10)
    evaluate(acme)
    assert open_alerts(other) == []
    evaluate(other)
    page = owner.get(reverse("tenant_home", args=["acme"])).content.decode()
    assert "acme.test: 10.0 % of TLS sessions failed" in page
    assert "other.test" not in page


@pytest.mark.django_db
def test_the_overview_shows_open_alerts_with_their_fix(acme, acme_domain, owner) -> None:
    report(acme, "acme.test", TODAY - timedelta(days=1), 90, 10)
    evaluate(acme)
    page = owner.get(reverse("tenant_home", args=["acme"])).content.decode()
    assert 'id="alerts"' in page and 'data-kind="failure_rate"' in page and "Fix:" in page


@pytest.mark.django_db(transaction=True)
def test_the_hourly_job_emails_admins_once_over_smtp(acme, mail_sink, celery_worker) -> None:
    make_domain(acme, "acme.test")
    today = timezone.now().date()
    report(acme, "acme.test", today - timedelta(days=1), 90, 10)
    evaluate_alerts.delay()
    wait_until(lambda: len(mail_sink.messages) == 1)
    message = mail_sink.messages[0]
    assert message["To"] == "owner@acme.test"
    assert message["Subject"] == "[TLS-RPT alert] acme.test: 10.0 % of TLS sessions failed"
    text = message.get_body(("plain",)).get_content()
    assert "10 of 100 sessions" in text and "What to fix:" in text
    html = message.get_body(("html",)).get_content()
    assert "<style" not in html and 'style="' in html
    evaluate_alerts.delay()  # the job again: the alert is still open, nothing new is sent
    with scopes_disabled():
        alert = Alert.objects.get()
        wait_until(lambda: Alert.objects.filter(last_seen_at__gt=alert.last_seen_at).exists())
    send_alert_email(alert.pk)  # and a duplicate send task finds it claimed
    assert len(mail_sink.messages) == 1


@pytest.mark.django_db
def test_a_flapping_alert_is_not_emailed_again_within_the_cooldown(
    acme, acme_domain, django_capture_on_commit_callbacks
) -> None:
    report(acme, "acme.test", TODAY - timedelta(days=1), 90, 10)
    with django_capture_on_commit_callbacks() as first:
        evaluate(acme)
    with scopes_disabled():
        Alert.objects.update(notified_at=timezone.now(), resolved_at=timezone.now())
    with django_capture_on_commit_callbacks() as second:
        assert evaluate(acme).opened
    assert (len(first), len(second)) == (1, 0)
