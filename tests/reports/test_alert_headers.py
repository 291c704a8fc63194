"""Alert emails carry what strangers' reports say in their Subject: on one line, always
sent, and a send that fails is tried again."""

import json
import socket
from datetime import date, timedelta

import pytest
from django_scopes import scope, scopes_disabled

from accounts.models import Membership, Role, Tenant
from reports.alerts.mail import alert_notify
from reports.alerts.rules import alerts_evaluate
from reports.alerts.tasks import send_alert_email
from reports.models import Alert, AlertKind
from tests.factories import make_domain, make_user
from tests.reports.helpers import ingest
from tests.reports.mail import report_json
from tlsrpt_saas.mail import header_clean

TODAY = date(2026, 11, 20)
INJECTED = "\r\nBcc: evil@x"


def report(tenant: Tenant, day: date, failed: int, organization: str, result_type: str) -> None:
    document = report_json(
        domain="acme.test", day=day.isoformat(), successful=1000 - failed, failed=failed,
        organization=organization,
    )  # fmt: skip
    if failed:
        document["policies"][0]["failure-details"][0]["result-type"] = result_type
    ingest(tenant, json.dumps(document).encode(), "report.json")


def opened(tenant: Tenant) -> list[Alert]:
    with scope(tenant=tenant.pk):
        return alerts_evaluate(tenant=tenant, today=TODAY).opened


def new_failure_type(tenant: Tenant, result_type: str) -> Alert:
    for n in range(3, 31):
        report(tenant, TODAY - timedelta(days=n), 1, "Example Sender", "certificate-expired")
    report(tenant, TODAY, 1, "Example Sender", result_type)
    [alert] = [a for a in opened(tenant) if a.kind == AlertKind.NEW_FAILURE_TYPE]
    return alert


def silent_reporter(tenant: Tenant, organization: str) -> Alert:
    for n in range(4, 11):
        report(tenant, TODAY - timedelta(days=n), 0, organization, "")
        report(tenant, TODAY - timedelta(days=n), 0, "Daily Sender", "")
    report(tenant, TODAY - timedelta(days=1), 0, "Daily Sender", "")
    [alert] = [a for a in opened(tenant) if a.kind == AlertKind.REPORTER_SILENT]
    return alert


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notified(alert: Alert) -> bool:
    with scopes_disabled():
        return Alert.objects.filter(pk=alert.pk, notified_at__isnull=False).exists()


@pytest.mark.parametrize(
    "value",
    ["a\r\nBcc: evil@x", "a\nb", "a\rb", "a\tb", "a\x00b", "a\x85b", "a\u2028b", "a\u2029b"],
)
def test_header_clean_leaves_one_line(value: str) -> None:
    assert header_clean(value) in ("a Bcc: evil@x", "a b")


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["result-type", "organization-name"])
def test_a_line_break_from_a_report_stays_out_of_the_headers(acme, mail_sink, where) -> None:
    make_domain(acme, "acme.test")
    if where == "result-type":
        alert = new_failure_type(acme, f"certificate-expired{INJECTED}")
    else:
        alert = silent_reporter(acme, f"Sender{INJECTED}")
    assert send_alert_email(alert.pk) == "sent 1"
    [received] = mail_sink.received
    assert received.rcpt_tos == ["owner@acme.test"]
    message = received.message
    assert "Bcc" not in message and "evil@x" not in str(message["To"])
    subject = message["Subject"]
    assert "\r" not in subject and "\n" not in subject
    assert subject.startswith("[TLS-RPT alert] acme.test: ") and "Bcc: evil@x" in subject
    assert notified(alert)


@pytest.mark.django_db
def test_a_send_the_smtp_server_refuses_is_sent_by_the_retry(acme, mail_sink, settings):
    make_domain(acme, "acme.test")
    alert = new_failure_type(acme, "starttls-not-supported")
    settings.EMAIL_PORT = closed_port()  # the first attempt finds no SMTP server
    with scope(tenant=acme.pk), pytest.raises(OSError):
        alert_notify(alert=alert)
    assert not notified(alert)  # released: free for the retry
    settings.EMAIL_PORT = mail_sink.port
    assert send_alert_email(alert.pk) == "sent 1"
    assert notified(alert) and len(mail_sink.messages) == 1
    assert send_alert_email(alert.pk) == "already sent"
    assert len(mail_sink.messages) == 1


@pytest.mark.django_db
def test_a_message_django_refuses_to_build_releases_the_claim(acme, mail_sink) -> None:
    make_domain(acme, "acme.test")
    alert = new_failure_type(acme, "starttls-not-supported")
    broken = make_user("admin@acme.test")
    Membership.objects.create(user=broken, tenant=acme, role=Role.ADMIN)
    type(broken).objects.filter(pk=broken.pk).update(email="admin@acme.test\nBcc: evil@x")
    with pytest.raises(ValueError):
        send_alert_email(alert.pk)
    assert not notified(alert) and mail_sink.messages == []
