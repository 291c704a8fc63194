"""One selector module, one set of numbers: the dashboard, the API, the digest, the
Prometheus metrics and the webhooks agree."""

import re
from datetime import UTC, date, datetime

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from accounts.models import ApiKey, Tenant
from reports.dashboards import selectors
from reports.dashboards.periods import Period
from reports.digests.weekly import digest_send
from reports.webhooks.models import WebhookDelivery
from tests.factories import make_domain
from tests.metrics.scrape import by_label, parse, value
from tests.reports.helpers import corpus, corpus_files, ingest
from tests.selftest.helpers import self_test_ingested
from tests.webhooks.helpers import make_endpoint

WEEK = Period(date(2024, 2, 19), date(2024, 2, 25))


@pytest.mark.django_db
def test_dashboard_api_and_digest_show_the_same_week(acme: Tenant, owner: Client, mail_sink):
    domain = make_domain(acme, "example.com")
    for name in corpus_files():
        ingest(acme, corpus(name), name)
    with scope(tenant=acme.pk):
        totals = selectors.domain_totals(domain, WEEK)
    assert totals.sessions > 0 and totals.failed > 0  # the corpus has this week for example.com
    # A self-test that week (reports.selftest) changes no figure of any reader below.
    self_test_ingested(acme, domain, datetime(2024, 2, 21, 12, tzinfo=UTC))
    with scope(tenant=acme.pk):
        assert selectors.domain_totals(domain, WEEK) == totals

    query = f"?from={WEEK.start}&to={WEEK.end}"
    page = owner.get(reverse("domain_dashboard", args=["acme", domain.pk]) + query)
    html = page.content.decode()
    shown = {k: v for k, v in re.findall(r'data-total="(\w+)">([^<]+)<', html)}
    assert shown["sessions"] == str(totals.sessions) and shown["failed"] == str(totals.failed)

    secret = ApiKey.objects.create_key(tenant=acme, name="t")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    days = api.get(f"/api/v1/stats/daily?domain={domain.pk}&from={WEEK.start}&to={WEEK.end}")
    series = days.json()
    assert sum(d["successful"] for d in series) == totals.successful
    assert sum(d["failed"] for d in series) == totals.failed
    # The metrics count every stored day: the API's stats over all of them, two years a time.
    every_day = [
        day
        for year in range(2016, 2028, 2)
        for day in api.get(
            f"/api/v1/stats/daily?domain={domain.pk}&from={year}-01-01&to={year + 1}-12-31"
        ).json()
    ]
    samples = parse(api.get("/api/v1/metrics").content.decode())
    ok = value(samples, "tlsrpt_domain_successful_sessions_total", domain="example.com")
    failed = value(samples, "tlsrpt_domain_failed_sessions_total", domain="example.com")
    assert ok == sum(d["successful"] for d in every_day) > totals.successful
    assert failed == sum(d["failed"] for d in every_day)

    with scope(tenant=acme.pk):
        assert digest_send(tenant=acme, week_start=WEEK.start) == 1
    text = mail_sink.messages[0].get_body(("plain",)).get_content()
    assert re.search(rf"Sessions:\s+{totals.sessions}\b", text)
    assert re.search(rf"Failed:\s+{totals.failed}\b", text)


POSTFIX_DAY = date(2025, 10, 1)


@pytest.mark.django_db
def test_every_reader_counts_postfix_dane_and_mta_sts_sessions_alike(
    acme: Tenant, owner: Client, mail_sink
):
    """Postfix reports each session once, under the policy it applied (issue 12): 110 + 10
    DANE sessions at mx1 and 70 + 10 MTA-STS sessions are 200 sessions, 20 failed, in
    the dashboard, the overview, the breakdowns, the API, the digest and the alerts."""
    from reports.alerts.rules import failure_conditions
    from tests.tlsrpt.postfix import postfix_json

    domain = make_domain(acme, "example.com")
    domain.failure_rate_threshold = 5
    domain.save(update_fields=["failure_rate_threshold"])
    ingest(acme, postfix_json("example.com", day=f"{POSTFIX_DAY}"))
    period = Period(POSTFIX_DAY, POSTFIX_DAY)
    query = f"?from={period.start}&to={period.end}"
    with scope(tenant=acme.pk):
        totals = selectors.domain_totals(domain, period)
        by_type = dict(selectors.failures_by(domain, period, "result_type"))
        conditions = failure_conditions(domain, POSTFIX_DAY)
    assert (totals.sessions, totals.failed) == (200, 20)
    assert by_type == {"certificate-expired": 10, "tlsa-invalid": 10}
    assert any("20 of 200 sessions" in c.message for c in conditions)

    html = owner.get(reverse("domain_dashboard", args=["acme", domain.pk]) + query)
    shown = dict(re.findall(r'data-total="(\w+)">([^<]+)<', html.content.decode()))
    assert (shown["sessions"], shown["failed"]) == ("200", "20")
    overview = owner.get(reverse("tenant_home", args=["acme"]) + query).content.decode()
    assert 'data-failed="20"' in overview

    secret = ApiKey.objects.create_key(tenant=acme, name="t")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    stats = f"domain={domain.pk}&from={period.start}&to={period.end}"
    series = api.get(f"/api/v1/stats/daily?{stats}").json()
    assert sum(d["successful"] + d["failed"] for d in series) == 200
    assert sum(d["failed"] for d in series) == 20
    breakdown = api.get(f"/api/v1/stats/breakdown?by=result_type&{stats}").json()
    assert {row["key"]: row["failed"] for row in breakdown} == by_type

    # The metrics count every stored day: here, that one day.
    samples = parse(api.get("/api/v1/metrics").content.decode())
    ok = value(samples, "tlsrpt_domain_successful_sessions_total", domain="example.com")
    failed = value(samples, "tlsrpt_domain_failed_sessions_total", domain="example.com")
    assert (ok + failed, failed) == (200, 20)
    assert by_label(samples, "tlsrpt_failures_total", "result_type") == by_type

    with scope(tenant=acme.pk):
        assert digest_send(tenant=acme, week_start=date(2025, 9, 29)) == 1
    text = mail_sink.messages[0].get_body(("plain",)).get_content()
    assert re.search(r"Sessions:\s+200\b", text) and re.search(r"Failed:\s+20\b", text)


@pytest.mark.django_db
def test_webhooks_tell_the_same_week(acme: Tenant, mail_sink) -> None:
    """report.received (each report's counted policies for the domain, that week) and
    digest.ready give the dashboard's numbers."""
    domain = make_domain(acme, "example.com")
    make_endpoint(acme, "https://hooks.example/in", ["report.received", "digest.ready"])
    for name in corpus_files():
        ingest(acme, corpus(name), name)
    with scope(tenant=acme.pk):
        totals = selectors.domain_totals(domain, WEEK)
        assert digest_send(tenant=acme, week_start=WEEK.start) == 1
        payloads = [d.payload["data"] for d in WebhookDelivery.objects.order_by("pk")]

    counted = [
        (p["successful"], p["failed"])
        for data in payloads
        if "report" in data
        and WEEK.start <= date.fromisoformat(data["report"]["start"][:10]) <= WEEK.end
        for p in data["report"]["policies"]
        if p["domain"] == "example.com" and p["counted"]
    ]
    assert sum(s for s, _ in counted) == totals.successful
    assert sum(f for _, f in counted) == totals.failed
    (digest,) = [data for data in payloads if "week" in data]
    (row,) = [row for row in digest["domains"] if row["name"] == "example.com"]
    assert (row["sessions"], row["failed"]) == (totals.sessions, totals.failed)
