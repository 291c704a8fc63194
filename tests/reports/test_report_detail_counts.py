"""A report whose policies name a domain this team has not verified (another team's, say)
keeps that policy, but its sessions count nowhere (issue 14): the report's page and list
show the counted sessions apart from those not counted, and name the domain."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from accounts.models import ApiKey, Tenant
from reports.models import Report
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import domain_totals, ingest
from tests.reports.mail import report_json

pytestmark = pytest.mark.django_db


def two_domain_report(acme: Tenant) -> Report:
    """10 successful sessions for acme's verified example.org, 3 for other.example, which
    another team verified."""
    make_domain(acme, "example.org")
    make_domain(make_tenant("other"), "other.example")
    document = report_json(domain="example.org", successful=10, failed=0, report_id="two")
    theirs = report_json(domain="other.example", successful=3, failed=0)["policies"][0]
    document["policies"].append(theirs)
    ingest(acme, json.dumps(document).encode(), "two.json")
    with scope(tenant=acme):
        return Report.objects.get()


def test_the_report_page_shows_counted_and_uncounted_sessions_apart(
    acme: Tenant, owner: Client
) -> None:
    report = two_domain_report(acme)

    html = owner.get(reverse("report_detail", args=["acme", report.pk])).content.decode()

    counted = re.search(r'<dd[^>]*id="counted"[^>]*>(.*?)</dd>', html, re.S)
    assert counted is not None
    assert counted.group(1).startswith("10 successful, 0 failed, counted")
    uncounted = re.search(r'<dd[^>]*id="uncounted"[^>]*>(.*?)</dd>', html, re.S)
    assert uncounted is not None
    text = re.sub(r"<[^>]+>|\s+", " ", uncounted.group(1)).strip()
    assert text.startswith("3 sessions not counted (3 successful, 0 failed): sts policy for ")
    assert "other.example, not a verified domain of this team" in text
    assert "13 successful" not in html
    # The same 10 as the rollups every other reader uses.
    assert domain_totals(acme) == (10, 0)


def test_a_report_of_verified_domains_only_says_nothing_is_left_out(
    acme: Tenant, owner: Client
) -> None:
    make_domain(acme, "example.org")
    ingest(acme, json.dumps(report_json(domain="example.org", successful=7)).encode())
    with scope(tenant=acme):
        report = Report.objects.get()

    html = owner.get(reverse("report_detail", args=["acme", report.pk])).content.decode()

    assert 'data-successful="7" data-failed="2"' in html
    assert 'id="uncounted"' not in html


def test_the_report_list_shows_the_counted_sessions_and_labels_the_rest(
    acme: Tenant, owner: Client
) -> None:
    report = two_domain_report(acme)

    html = owner.get(reverse("report_list", args=["acme"])).content.decode()

    row = re.search(rf'<tr data-report="{report.pk}".*?</tr>', html, re.S)
    assert row is not None
    assert 'data-sessions="10">10<' in row.group(0)
    assert 'data-uncounted="3">+3 not counted' in row.group(0)


def test_the_api_adds_counted_sessions_to_the_reports_totals(acme: Tenant) -> None:
    report = two_domain_report(acme)
    secret = ApiKey.objects.create_key(tenant=acme, name="t")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    one = api.get(f"/api/v1/reports/{report.pk}").json()
    (listed,) = api.get("/api/v1/reports").json()["results"]

    for body in (one, listed):
        assert (body["successful"], body["failed"]) == (13, 0)  # the report's own, as before
        assert (body["counted_successful"], body["counted_failed"]) == (10, 0)
    assert [(p["policy_domain"], p["domain"] is None) for p in one["policies"]] == [
        ("example.org", False), ("other.example", True),
    ]  # fmt: skip
