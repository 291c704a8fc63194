"""Issue 7's story: a tenant with corpus data and a broken MTA-STS set-up is told.

Real report (Mail.ru's sts-policy-fetch-error for example.com), real DNS and HTTPS
servers on loopback, a real Celery worker, mail over real SMTP: the alert, the weekly
digest and the domain page all name the problem and the same fix.
"""

from datetime import date

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant
from domains.checks import domain_health_check
from domains.findings import Finding
from domains.models import CheckKind, DnsCheck
from reports.alerts.rules import alerts_evaluate
from reports.dashboards import selectors
from reports.dashboards.periods import Period
from reports.digests.weekly import digest_send
from tests.conftest import wait_until
from tests.domains.zones import break_sts, publish_good
from tests.factories import make_domain
from tests.reports.helpers import corpus, ingest

pytestmark = pytest.mark.django_db(transaction=True)
REPORT_DAY = date(2024, 2, 22)  # the report's day; its week starts on Monday the 19th


def test_alert_digest_and_page_name_the_broken_mta_sts_and_its_fix(
    acme: Tenant, owner: Client, dns, sts, mail_sink, celery_worker
) -> None:
    domain = make_domain(acme, "example.com")
    _, outcome = ingest(acme, corpus("mailru-2024-02-sts-fetch-error.json"), "report.json")
    publish_good(dns, sts, acme, "example.com")
    break_sts(sts, "example.com")
    with scope(tenant=acme.pk):
        domain_health_check(domain=domain)
        check = DnsCheck.objects.get(kind=CheckKind.MTA_STS)
    problem = Finding.from_dict(next(f for f in check.findings if f["level"] == "error"))
    assert problem.code == "sts_fetch_status" and "404" in problem.message

    # Alerts: the hourly evaluation (here for the day after the report) emails the admins.
    with scope(tenant=acme.pk), transaction.atomic():
        opened = alerts_evaluate(tenant=acme, today=date(2024, 2, 23)).opened
    assert {a.kind for a in opened} == {"failure_rate", "sts_unreachable"}
    wait_until(lambda: len(mail_sink.messages) == 2)
    alerts = {m["Subject"]: m.get_body(("plain",)).get_content() for m in mail_sink.messages}
    sts_alert = alerts["[TLS-RPT alert] example.com: the MTA-STS policy cannot be fetched"]
    assert problem.message in sts_alert and problem.fix in sts_alert
    rate_alert = alerts["[TLS-RPT alert] example.com: 100.0 % of TLS sessions failed"]
    assert "sts-policy-fetch-error" in rate_alert
    mail_sink.clear()

    # The weekly digest: the week's numbers as the dashboard computes them, and the fix.
    with scope(tenant=acme.pk):
        assert digest_send(tenant=acme, week_start=date(2024, 2, 19)) == 1
    digest = mail_sink.messages[0]
    text = digest.get_body(("plain",)).get_content()
    with scope(tenant=acme.pk):
        totals = selectors.domain_totals(domain, Period(date(2024, 2, 19), date(2024, 2, 25)))
    assert (totals.sessions, totals.failed) == (1, 1)
    assert "example.com" in text and problem.fix.splitlines()[0] in text
    assert "sts-policy-fetch-error" in text or "MTA-STS policy" in text

    # The domain page shows the same finding and fix.
    page = owner.get(reverse("domain_detail", args=["acme", domain.pk])).content.decode()
    assert 'data-code="sts_fetch_status"' in page
    assert problem.fix.splitlines()[0].replace("'", "&#x27;") in page
    with scopes_disabled():
        assert outcome.status == "processed"
