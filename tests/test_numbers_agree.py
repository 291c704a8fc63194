"""One selector module, one set of numbers: the dashboard, the API and the digest agree."""

import re
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from accounts.models import ApiKey, Tenant
from reports import selectors
from reports.digest import digest_send
from reports.selectors import Period
from tests.factories import make_domain
from tests.reports.helpers import corpus, corpus_files, ingest

WEEK = Period(date(2024, 2, 19), date(2024, 2, 25))


@pytest.mark.django_db
def test_dashboard_api_and_digest_show_the_same_week(acme: Tenant, owner: Client, mail_sink):
    domain = make_domain(acme, "example.com")
    for name in corpus_files():
        ingest(acme, corpus(name), name)
    with scope(tenant=acme.pk):
        totals = selectors.domain_totals(domain, WEEK)
    assert totals.sessions > 0 and totals.failed > 0  # the corpus has this week for example.com

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

    with scope(tenant=acme.pk):
        assert digest_send(tenant=acme, week_start=WEEK.start) == 1
    text = mail_sink.messages[0].get_body(("plain",)).get_content()
    assert re.search(rf"Sessions:\s+{totals.sessions}\b", text)
    assert re.search(rf"Failed:\s+{totals.failed}\b", text)
