"""The domain dashboard's chart data and KPI cards: gaps are gaps, long periods are weeks
(and the chart says so), marks carry what changed, KPI changes give their numbers."""

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from accounts.models import Tenant
from domains.models import CheckKind, CheckStatus, DnsCheck, Domain
from reports.dashboards.chart_data import change_marks
from reports.dashboards.kpis import count_kpi, rate_kpi
from reports.dashboards.selectors import Totals
from tests.factories import make_domain
from tests.reports.helpers import ingest
from tests.reports.mail import report_email, report_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def domain(acme: Tenant) -> Domain:
    return make_domain(acme, "example.org")


def report(tenant: Tenant, day: date, *, successful: int = 10, failed: int = 2) -> None:
    document = report_json(
        domain="example.org", day=day.isoformat(), successful=successful, failed=failed
    )
    ingest(tenant, report_email(document))


def chart(client: Client, domain: Domain, start: date, end: date) -> tuple[dict, str]:
    url = reverse("domain_dashboard", args=["acme", domain.pk])
    page = client.get(url, {"from": start.isoformat(), "to": end.isoformat()}).content.decode()
    found = re.search(r'id="chart-data"[^>]*>(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found[1]), page


def test_days_without_reports_are_gaps_not_zeros(acme, owner, domain) -> None:
    start = date(2026, 11, 2)
    report(acme, start, successful=10, failed=2)
    report(acme, start + timedelta(days=2), successful=8, failed=0)
    data, _ = chart(owner, domain, start, start + timedelta(days=4))
    assert data["days"] == [(start + timedelta(days=i)).isoformat() for i in range(5)]
    assert data["successful"] == [10, None, 8, None, None]
    assert data["failed"] == [2, None, 0, None, None]  # a reported zero stays a zero
    assert data["rate"] == [83.33, None, 100.0, None, None]
    assert (data["step"], data["unit"], data["axis_title"]) == ("day", "day", "Day")


def test_a_long_period_is_drawn_in_weeks_and_the_chart_says_so(acme, owner, domain) -> None:
    start, end = date(2026, 1, 7), date(2026, 11, 30)  # a Wednesday; 328 days
    report(acme, date(2026, 6, 10))
    data, page = chart(owner, domain, start, end)
    assert (data["step"], data["unit"]) == ("week", "week")
    assert data["axis_title"] == "Week starting (Monday)"
    assert len(data["days"]) == 48 <= 120
    assert data["days"][0] == "2026-01-05"  # the Monday of the period's first week
    assert all(date.fromisoformat(d).weekday() == 0 for d in data["days"])
    assert [v for v in data["successful"] if v is not None] == [10]  # one week reported
    assert "Sessions per week" in page and 'id="chart-step"' in page
    assert "Week starting (Monday)" in page  # the table's heading too


def _check(domain: Domain, kind: str, day: date, message: str) -> DnsCheck:
    at = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
    finding = {"level": "error", "code": "x", "message": message}
    with scopes_disabled():
        return DnsCheck.objects.create(
            tenant=domain.tenant, domain=domain, kind=kind, status=CheckStatus.ERROR,
            findings=[finding], checked_at=at, changed=True, previous_status="ok",
        )  # fmt: skip


def test_marks_carry_what_changed_on_the_point_of_their_day(acme, domain) -> None:
    dns = _check(domain, CheckKind.MTA_STS, date(2026, 11, 4), "The policy could not be fetched")
    probe = _check(domain, CheckKind.MX_TLS, date(2026, 11, 11), "mx2: the certificate expired")
    weekly = [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 9)]
    marks = change_marks([dns, probe], weekly)
    assert marks["dns"] == {"2026-11-02": ["MTA-STS: ok → error — The policy could not be fetched"]}
    assert marks["probe"] == {
        "2026-11-09": ["MX hosts' TLS (live): ok → error — mx2: the certificate expired"]
    }


def test_the_page_hands_every_kind_of_mark_to_the_chart(acme, owner, domain) -> None:
    day = date(2026, 11, 4)
    report(acme, day)
    _check(domain, CheckKind.MTA_STS, day, "The policy could not be fetched")
    _check(domain, CheckKind.MX_TLS, day, "mx2: the certificate expired")
    data, page = chart(owner, domain, day - timedelta(days=3), day + timedelta(days=3))
    assert "The policy could not be fetched" in data["dns_changes"]["2026-11-04"][0]
    assert "certificate expired" in data["probe_findings"]["2026-11-04"][0]
    assert data["policy_changes"] == {}  # no hosted policy: no marks, and no legend entry
    assert 'id="dns-changes"' in page and 'id="probe-changes"' in page
    assert 'id="policy-changes"' not in page


def test_kpi_changes_say_the_numbers_and_whether_it_is_good_news() -> None:
    failed = count_kpi("failed", "Failed sessions", 150, 100, up_is_good=False)
    assert (failed.value, failed.change, failed.good) == ("150", "kpi-up", False)
    assert failed.text == "+50 % vs previous period (100)"
    fewer = count_kpi("failed", "Failed sessions", 1_000, 4_000, up_is_good=False)
    assert (fewer.value, fewer.arrow, fewer.good) == ("1,000", "▼", True)
    assert fewer.text == "-75 % vs previous period (4,000)"
    new = count_kpi("reporters", "Reporters", 3, 0, up_is_good=True)
    assert new.text == "+3 vs previous period (0)"
    same = count_kpi("sessions", "Sessions", 7, 7, up_is_good=None)
    assert (same.change, same.good) == ("kpi-flat", None)
    rate = rate_kpi(Totals(995, 5), Totals(980, 20))
    assert (rate.value, rate.change, rate.good) == ("99.5 %", "kpi-up", True)
    assert rate.text == "+1.5 pp vs previous period (98.0 %)"


def test_the_kpi_cards_compare_with_the_period_before(acme, owner, domain) -> None:
    start = date(2026, 11, 8)
    report(acme, start - timedelta(days=3), successful=90, failed=10)  # the week before
    report(acme, start + timedelta(days=1), successful=190, failed=10)
    _, page = chart(owner, domain, start, start + timedelta(days=6))
    cards = dict(re.findall(r'data-total="([^"]+)">([^<]*)<', page))
    assert cards == {
        "sessions": "200", "failed": "10", "rate": "95.0 %", "reporters": "1", "failing-mx": "1"
    }  # fmt: skip
    assert "+100 % vs previous period (100)" in page  # sessions
    assert "no change vs previous period (10)" in page  # failed
    assert "+5.0 pp vs previous period (90.0 %)" in page
