"""The dashboard numbers, exact, from reports whose figures are known."""

import copy
import json
from datetime import date

import pytest
from django.urls import reverse
from django_scopes import scope

from accounts.models import Tenant
from domains.models import Domain
from reports.dashboards import periods, reporters, selectors
from reports.models import Report
from tests.factories import make_domain, make_tenant, owner_of
from tests.reports.helpers import ingest
from tests.reports.mail import report_email, report_json
from tests.web import fresh_client, login

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 1)
PERIOD = periods.Period(date(2026, 10, 26), date(2026, 11, 1))


@pytest.fixture
def data() -> tuple[Tenant, Domain]:
    """Google: 10 ok, 2 failed (sts). Microsoft: 5 ok, 1 failed, under both sts and tlsa."""
    tenant = make_tenant("acme")
    domain = make_domain(tenant, "example.org")
    ingest(tenant, report_email(report_json(domain="example.org", organization="Google")))
    microsoft = report_json(domain="example.org", organization="Microsoft", successful=5, failed=1)
    tlsa = copy.deepcopy(microsoft["policies"][0])
    tlsa["policy"]["policy-type"] = "tlsa"
    microsoft["policies"].append(tlsa)
    ingest(tenant, json.dumps(microsoft).encode())
    make_domain(make_tenant("other"), "example.org")  # another tenant's, never counted
    return tenant, domain


def test_domain_totals_count_a_session_under_two_policies_once(data) -> None:
    tenant, domain = data
    with scope(tenant=tenant):
        totals = selectors.domain_totals(domain, PERIOD)
        by_policy = dict(selectors.failures_by_policy_type(domain, PERIOD))
    assert (totals.successful, totals.failed, totals.success_rate) == (15, 3, 83.33)
    assert {k: (t.successful, t.failed) for k, t in by_policy.items()} == {
        "sts": (15, 3), "tlsa": (5, 1)
    }  # fmt: skip


def test_daily_series_and_breakdowns(data) -> None:
    tenant, domain = data
    with scope(tenant=tenant):
        series = selectors.daily_series(domain, PERIOD)
        by_type = selectors.failures_by(domain, PERIOD, "result_type")
        by_org = selectors.failures_by(domain, PERIOD, "organization")
        by_mx = selectors.failures_by(domain, PERIOD, "receiving_mx")
        by_ip = selectors.failures_by_sending_ip(domain, PERIOD)
        orgs = reporters.organizations(domain, PERIOD)
    assert len(series) == 7 and series[-1].day == DAY
    assert [(p.totals.successful, p.totals.failed) for p in series] == [(0, 0)] * 6 + [(15, 3)]
    assert by_type == [("certificate-expired", 3)]
    assert by_org == [("Google", 2), ("Microsoft", 1)]
    assert by_mx == [("mx.example.org", 3)]
    assert by_ip == [("192.0.2.10", 3)]
    assert [(o.organization, o.totals.sessions, o.silent) for o in orgs] == [
        ("Google", 12, False), ("Microsoft", 6, False)
    ]  # fmt: skip


def test_overview_worst_first_with_change_and_sparkline(data) -> None:
    tenant, domain = data
    quiet = make_domain(tenant, "quiet.example")
    with scope(tenant=tenant):
        rows = selectors.overview([quiet, domain], PERIOD)
    assert [r.domain.name for r in rows] == ["example.org", "quiet.example"]
    top = rows[0]
    assert (top.totals.failed, top.previous.failed, top.failed_change) == (3, 0, 3)
    assert top.daily_failed == [0, 0, 0, 0, 0, 0, 3]
    assert (top.last_report_day, top.top_result_type) == (DAY, "certificate-expired")


def test_the_dashboard_page_shows_the_same_numbers(data) -> None:
    tenant, domain = data
    client = fresh_client()
    login(client, owner_of(tenant))
    url = reverse("domain_dashboard", args=["acme", domain.pk])
    page = client.get(url, {"from": "2026-10-26", "to": "2026-11-01"}).content.decode()
    assert '<div class="kpi-value" data-total="sessions">18</div>' in page
    assert '<div class="kpi-value" data-total="failed">3</div>' in page
    assert '<div class="kpi-value" data-total="rate">83.33 %</div>' in page
    assert "Certificate expired" in page and "Renew the MX certificate" in page
    assert '"failed": [null, null, null, null, null, null, 3]' in page  # days without reports: gaps


def test_report_list_filters_and_detail(data) -> None:
    tenant, _domain = data
    client = fresh_client()
    login(client, owner_of(tenant))
    listing = reverse("report_list", args=["acme"])
    assert client.get(listing).content.decode().count("data-report=") == 2
    only = client.get(listing, {"organization": "Microsoft"}).content.decode()
    assert only.count("data-report=") == 1 and "Microsoft" in only
    assert (
        client.get(listing, {"result_type": "starttls-not-supported"})
        .content.decode()
        .count("data-report=")
        == 0
    )
    with scope(tenant=tenant):
        report = Report.objects.get(organization="Microsoft")
    detail = client.get(reverse("report_detail", args=["acme", report.pk])).content.decode()
    assert "not counted again in totals" in detail and report.report_id in detail
    raw = client.get(reverse("report_raw", args=["acme", report.pk]))
    assert raw["Content-Disposition"].startswith("attachment")
    assert json.loads(raw.content)["organization-name"] == "Microsoft"


def test_report_list_says_which_dates_it_cannot_use(data) -> None:
    tenant, _domain = data
    client = fresh_client()
    login(client, owner_of(tenant))
    listing = reverse("report_list", args=["acme"])

    page = client.get(listing, {"from": "2024-13-01"}).content.decode()
    assert "“2024-13-01” is not a date" in page and "shown without that limit" in page
    assert page.count("data-report=") == 2
    backwards = client.get(listing, {"from": "2030-01-02", "to": "2030-01-01"}).content.decode()
    assert "ends (2030-01-01) before it starts (2030-01-02)" in backwards
    assert 'id="date-error"' not in client.get(listing, {"from": "2020-01-01"}).content.decode()


def test_report_list_pages_by_cursor() -> None:
    tenant = make_tenant("acme")
    make_domain(tenant, "example.org")
    for i in range(55):
        ingest(tenant, json.dumps(report_json(domain="example.org", report_id=f"r{i}")).encode())
    client = fresh_client()
    login(client, owner_of(tenant))
    first = client.get(reverse("report_list", args=["acme"]))
    assert first.content.decode().count("data-report=") == 50
    second = client.get(
        reverse("report_list", args=["acme"]), {"after": first.context["next_cursor"]}
    )
    assert second.content.decode().count("data-report=") == 5
    assert second.context["next_cursor"] is None


def test_csv_exports_of_failure_details_and_daily_figures(data) -> None:
    import csv
    import io

    tenant, domain = data
    client = fresh_client()
    login(client, owner_of(tenant))
    query = {"domain": domain.pk, "from": "2026-11-01", "to": "2026-11-01"}

    def rows(what: str) -> list[dict]:
        response = client.get(reverse("export_csv", args=["acme", what]), query)
        assert response["Content-Type"].startswith("text/csv")
        text = response.getvalue().decode()
        return list(csv.DictReader(io.StringIO(text)))

    failures = rows("failures")
    assert len(failures) == 3  # Google's one, Microsoft's under sts and under tlsa
    assert sorted((r["organization"], r["policy_type"], r["counted"]) for r in failures) == [
        ("Google", "sts", "True"), ("Microsoft", "sts", "False"), ("Microsoft", "tlsa", "True")
    ]  # fmt: skip
    daily = rows("daily")
    assert sum(int(r["counted_failed"]) for r in daily) == 3
    assert sum(int(r["counted_successful"]) for r in daily) == 15


def test_one_domains_reports_page_by_cursor_too() -> None:
    tenant = make_tenant("acme")
    make_domain(tenant, "example.org")
    make_domain(tenant, "other.example")
    for i in range(53):
        ingest(tenant, json.dumps(report_json(domain="example.org", report_id=f"r{i}")).encode())
    ingest(tenant, json.dumps(report_json(domain="other.example", report_id="o")).encode())
    with scope(tenant=tenant):
        domain = Domain.objects.get(name="example.org")
    client = fresh_client()
    login(client, owner_of(tenant))
    url = reverse("report_list", args=["acme"])
    first = client.get(url, {"domain": domain.pk})
    second = client.get(url, {"domain": domain.pk, "after": first.context["next_cursor"]})
    seen = [r.report_id for r in first.context["reports"] + second.context["reports"]]
    assert len(seen) == len(set(seen)) == 53 and "o" not in seen
