"""The overview, the domain dashboard and the CSV exports, as a person sees them.

Periods of any length read the rollups; a period that cannot be read says so; raw-row
parts say when the period reaches past what is kept; an empty period points to the
latest reports; the sparkline keeps its width; the checklist offers the next step.
"""

import re
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.models import Role, Tenant
from domains.models import Domain
from reports.dashboards import periods, selectors
from reports.dashboards.sparklines import WIDTH as SPARKLINE_WIDTH
from reports.ingest.retention import purge_expired
from reports.models import Report
from tests.factories import make_domain, make_member
from tests.reports.helpers import ingest
from tests.reports.mail import report_email, report_json
from tests.web import fresh_client, login

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()
OLD = date(2019, 6, 1)
LONG = {"from": "2019-01-01", "to": (TODAY + timedelta(days=1)).isoformat()}


def days_ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


def report(tenant: Tenant, day: str, *, failed: int = 2, ip: str = "192.0.2.10") -> None:
    document = report_json(domain="example.org", day=day, failed=failed)
    document["policies"][0]["failure-details"][0]["sending-mta-ip"] = ip
    document["policies"][0]["failure-details"][0]["failure-reason-code"] = f"code-{ip}"
    ingest(tenant, report_email(document))


@pytest.fixture
def domain(acme: Tenant) -> Domain:
    return make_domain(acme, "example.org")


def dashboard(client: Client, domain: Domain, **params: str) -> str:
    url = reverse("domain_dashboard", args=["acme", domain.pk])
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def overview(client: Client, **params: str) -> str:
    response = client.get(reverse("tenant_home", args=["acme"]), params)
    assert response.status_code == 200
    return response.content.decode()


def search(pattern: str, text: str, flags: int = 0) -> re.Match[str]:
    """``re.search`` that fails the test when ``pattern`` is not in ``text``."""
    match = re.search(pattern, text, flags)
    assert match is not None, pattern
    return match


def total(page: str, name: str) -> str:
    return search(rf'data-total="{name}">([^<]*)<', page).group(1)


def overview_cell(page: str, attribute: str) -> str:
    return search(rf'{attribute}="([^"]*)"', page).group(1)


def test_a_range_of_years_shows_the_rollups_of_old_reports(acme, owner, domain) -> None:
    report(acme, OLD.isoformat())
    report(acme, days_ago(3))
    page = dashboard(owner, domain, **LONG)
    assert 'id="period-error"' not in page
    assert (total(page, "sessions"), total(page, "failed")) == ("24", "4")
    assert "Sessions per month" in page  # about 100 points, not 2,900 days
    assert '"axis_title": "Month"' in page  # the chart says what a bar is
    assert 'value="2019-01-01"' in page
    home = overview(owner, **LONG, view="table")
    row = search(r'<tr data-domain="example.org">.*?</tr>', home, re.S).group(0)
    assert overview_cell(row, "data-failed") == "4"


def test_the_exports_accept_a_range_of_years(acme, owner, domain) -> None:
    report(acme, OLD.isoformat())
    report(acme, days_ago(3))
    for what, expected in (("daily", 2), ("failures", 2)):
        response = owner.get(reverse("export_csv", args=["acme", what]), LONG)
        assert response.status_code == 200
        lines = b"".join(response.streaming_content).decode().splitlines()
        assert len(lines) == 1 + expected
        assert lines[1].startswith(OLD.isoformat())


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"from": "2024-03-01", "to": "2024-02-01"},
         "The period ends (2024-02-01) before it starts (2024-03-01)."),
        ({"from": "2024-02-30", "to": "2024-03-01"}, "“2024-02-30” is not a date"),
        ({"from": "2024-02-01", "to": "soon"}, "“soon” is not a date"),
        ({"from": "2024-02-01"}, "Give both a start and an end date."),
        ({"days": "45"}, "“45” days is not offered: choose 7, 30 or 90 days"),
    ],
)  # fmt: skip
def test_a_period_that_cannot_be_read_is_a_visible_error(owner, domain, params, error) -> None:
    for page in (dashboard(owner, domain, **params), overview(owner, **params)):
        shown = search(r'id="period-error">(.*?)</div>', page, re.S).group(1)
        assert error in shown and "the last 30 days" in shown
    for what in ("daily", "failures"):
        response = owner.get(reverse("export_csv", args=["acme", what]), params)
        assert response.status_code == 400
        assert error in response.content.decode()


def test_the_ip_and_reason_breakdowns_cover_the_whole_period_past_retention(
    acme, owner, domain, settings
) -> None:
    settings.REPORT_RETENTION_DAYS = 30
    report(acme, days_ago(100), ip="192.0.2.1")  # past retention
    report(acme, days_ago(3), ip="192.0.2.2")
    purge_expired()  # the raw rows go, the rollups stay
    with scopes_disabled():
        assert Report.objects.count() == 1
    page = dashboard(owner, domain, **{"from": days_ago(200), "to": days_ago(0)})
    assert total(page, "failed") == "4"  # the rollups: the whole period
    ips = search(r'id="ip-title">.*?</section>', page, re.S).group(0)
    assert "192.0.2.2" in ips and "192.0.2.1" in ips
    reasons = search(r'id="reasons-title">.*?</section>', page, re.S).group(0)
    assert "code-192.0.2.2" in reasons and "code-192.0.2.1" in reasons
    assert "raw-note" not in ips + reasons
    assert f"purge has run, the failure details CSV has none before {days_ago(30)}" in page

    old = dashboard(owner, domain, **{"from": days_ago(120), "to": days_ago(90)})
    assert total(old, "failed") == "2"
    ips = search(r'id="ip-title">.*?</section>', old, re.S).group(0)
    assert "192.0.2.1" in ips and "192.0.2.2" not in ips
    recent = dashboard(owner, domain, days="7")
    assert 'class="small alert alert-warning py-1 px-2 raw-note"' not in recent
    assert "192.0.2.1" not in recent and "No failed sessions in this period." not in recent


def test_an_empty_period_points_to_the_latest_reports(acme, owner, domain) -> None:
    report(acme, days_ago(100))
    start, end = days_ago(129), days_ago(100)
    message = f"No reports in this period; the latest is from {end}."
    link = f'href="?from={start}&amp;to={end}"'
    for page in (overview(owner), dashboard(owner, domain)):
        latest = search(r'id="latest-reports">(.*?)</p>', page, re.S).group(1)
        assert message in latest and link in latest
    following = dashboard(owner, domain, **{"from": start, "to": end})
    assert total(following, "sessions") == "12"
    assert 'id="latest-reports"' not in following
    assert 'id="latest-reports"' not in overview(owner, **{"from": start, "to": end})


def test_no_pointer_without_any_report(owner, domain) -> None:
    page = dashboard(owner, domain)
    assert "No report yet." in page and 'id="latest-reports"' not in page


@pytest.mark.parametrize(
    "params",
    [{"days": "7"}, {"days": "90"}, {"from": "2024-01-01", "to": "2024-12-31"}, LONG,
     {"from": "0001-01-01", "to": "9999-12-31"}],
)  # fmt: skip
def test_the_sparkline_keeps_its_width_whatever_the_period(acme, owner, domain, params) -> None:
    report(acme, days_ago(3))
    page = overview(owner, **params)
    svg = search(r'<svg class="sparkline"[^>]*>.*?</svg>', page, re.S).group(0)
    assert f'width="{SPARKLINE_WIDTH}"' in svg
    bars = re.findall(r'<rect class="sparkline-bar" x="([^"]*)" y="[^"]*" width="([^"]*)"', svg)
    assert len(bars) <= 1  # the day (or bucket) of the report, if shown; the others are gaps
    gaps = int(search(r'data-gaps="(\d+)"', svg).group(1))
    assert 1 <= gaps + len(bars) <= selectors.SPARKLINE_POINTS
    assert max((float(x) + float(w) for x, w in bars), default=0) <= SPARKLINE_WIDTH


def next_step(client: Client) -> str:
    page = overview(client)
    if "Getting started" not in page:
        return ""
    return search(r'id="next-step" data-step="(\w+)">\s*(.*?)\s*</div>', page, re.S).group(2)


def test_the_checklist_offers_the_first_step_not_done(acme, owner) -> None:
    assert "Add your first domain" in next_step(owner)
    domain = make_domain(acme, "example.org", verified=False)
    assert "Verify that you own example.org" in next_step(owner)
    with scopes_disabled():
        Domain.objects.filter(pk=domain.pk).update(verified_at=timezone.now())
    assert "See what to publish for example.org" in next_step(owner)
    report(acme, days_ago(3))  # a report can come before the record is checked
    assert "See what to publish for example.org" in next_step(owner)
    with scopes_disabled():
        Domain.objects.filter(pk=domain.pk).update(tlsrpt_ok=True)
    assert next_step(owner) == ""


def test_the_checklist_waits_for_the_first_report(acme, owner) -> None:
    make_domain(acme, "example.org")
    with scopes_disabled():
        Domain.objects.update(tlsrpt_ok=True)
    step = next_step(owner)
    assert "Watch the ingest log" in step and "Upload a report" in step
    viewer = fresh_client()
    login(viewer, make_member(acme, Role.VIEWER).user)
    step = next_step(viewer)
    assert "Watch the ingest log" in step and "Upload a report" not in step


def test_the_chart_of_any_range_has_a_bounded_number_of_points(acme, owner, domain) -> None:
    report(acme, OLD.isoformat())
    report(acme, days_ago(3))
    page = dashboard(owner, domain, **{"from": "0001-01-01", "to": "9999-12-31"})
    assert total(page, "sessions") == "24"
    days = search(r'"days": \[([^\]]*)\]', page).group(1).split(", ")
    assert len(days) <= selectors.CHART_POINTS
    assert "Sessions per 85 years" in page


@pytest.mark.parametrize(
    ("start", "end", "max_points", "step", "first", "last"),
    [
        (date(2024, 1, 3), date(2024, 1, 9), 92, "day", date(2024, 1, 3), date(2024, 1, 9)),
        (date(2024, 1, 3), date(2026, 1, 9), 731, "week", date(2024, 1, 1), date(2026, 1, 5)),
        (date(2019, 1, 1), date(2026, 12, 1), 100, "month", date(2019, 1, 1), date(2026, 12, 1)),
        (date(2019, 5, 1), date(2026, 12, 1), 60, "year", date(2019, 1, 1), date(2026, 1, 1)),
        (date.min, date.max, 92, "110 years", date.min, date(9901, 1, 1)),
    ],
)  # fmt: skip
def test_a_period_is_cut_into_at_most_so_many_buckets(
    start, end, max_points, step, first, last
) -> None:
    period = periods.Period(start, end)
    assert period.step(max_points) == step
    buckets = period.buckets(step)
    assert (buckets[0], buckets[-1]) == (first, last)
    assert len(buckets) <= max_points and buckets == sorted(set(buckets))


def test_the_period_before_one_at_the_calendars_start_is_cut() -> None:
    period = periods.Period(date(1, 1, 10), date(1, 1, 20))
    assert period.previous() == periods.Period(date.min, date(1, 1, 9))
    assert periods.Period(date.min, date(9, 1, 1)).previous().start == date.min
