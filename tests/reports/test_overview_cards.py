"""The overview's domain cards: worst first across pages of 50, the change against the
previous period, sparklines with gaps for days without reports, the DNS and MTA-STS state,
the top finding with its fix, and the Cards | Table switch kept in the URL."""

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.models import Tenant
from domains.findings import Finding, Level
from domains.hosting.models import HostedPolicy
from domains.models import CheckKind, CheckStatus, DnsCheck, Domain
from reports.dashboards.advice import advice
from reports.dashboards.overview_cards import (
    EN_DASH,
    MINUS,
    mta_sts_of,
    rate_change,
    sessions_change,
)
from reports.dashboards.selectors import Totals
from reports.dashboards.sparklines import Sparkline, sparkline_svg
from reports.models import DailyFailure, DailyStat
from tests.factories import make_domain

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def rollup(domain: Domain, day: date, successful: int, failed: int, kind: str = "") -> None:
    """What ingesting a report of ``day`` leaves in the rollups, without the report."""
    with scopes_disabled():
        DailyStat.objects.create(
            tenant=domain.tenant, domain=domain, day=day, organization="Google Inc.",
            policy_type="sts", successful=successful, failed=failed,
            counted_successful=successful, counted_failed=failed, reports=1,
        )  # fmt: skip
        if failed:
            DailyFailure.objects.create(
                tenant=domain.tenant, domain=domain, day=day, policy_type="sts",
                result_type=kind or "certificate-expired", receiving_mx=f"mx.{domain.name}",
                organization="Google Inc.", count=failed, counted=failed,
            )  # fmt: skip


def overview(client: Client, **params: str) -> str:
    response = client.get(reverse("tenant_home", args=["acme"]), params)
    assert response.status_code == 200
    return response.content.decode()


def card_names(page: str) -> list[str]:
    return re.findall(r'<article class="domain-card[^"]*" data-domain="([^"]+)"', page)


def card(page: str, name: str) -> str:
    match = re.search(rf'<article [^>]*data-domain="{re.escape(name)}".*?</article>', page, re.S)
    assert match is not None, name
    return match.group(0)


def test_cards_are_ordered_worst_first(acme: Tenant, owner: Client) -> None:
    healthy, some, failing = (
        make_domain(acme, n) for n in ("a-ok.example", "b.example", "c.example")
    )
    make_domain(acme, "d-silent.example")
    rollup(healthy, days_ago(2), 1000, 0)
    rollup(some, days_ago(2), 990, 10)  # 1 %: under the 5 % alert threshold
    rollup(failing, days_ago(2), 50, 50)
    page = overview(owner)
    assert card_names(page) == ["c.example", "b.example", "d-silent.example", "a-ok.example"]
    assert 'data-health="fail"' in card(page, "c.example")
    assert "Some sessions failed" in card(page, "b.example")
    assert "No reports yet." in card(page, "d-silent.example")
    assert "Healthy" in card(page, "a-ok.example")


def test_the_change_against_the_previous_period(acme: Tenant, owner: Client) -> None:
    domain = make_domain(acme, "example.org")
    rollup(domain, days_ago(10), 90, 10)  # the 7 days before: 100 sessions, 10 %
    rollup(domain, days_ago(2), 198, 2)  # these 7 days: 200 sessions, 1 %
    shown = card(overview(owner, days="7"), "example.org")
    sessions = re.search(r'data-figure="sessions">.*?</div>\s*</div>', shown, re.S)
    rate = re.search(r'data-figure="failure-rate">.*?</div>\s*</div>', shown, re.S)
    assert sessions is not None and rate is not None
    assert ">200<" in sessions.group(0)
    assert "kpi-up" in sessions.group(0) and "+100 % vs previous period (100)" in sessions.group(0)
    assert ">1 %<" in rate.group(0)
    assert 'kpi-down" data-good="true"' in rate.group(0)
    assert f"{MINUS}9 pts vs previous period (10 %)" in rate.group(0)


def test_a_rising_failure_rate_is_bad_news_and_a_new_domain_has_nothing_to_compare() -> None:
    worse = rate_change(Totals(95, 5), Totals(99, 1))
    assert (worse.direction, worse.good, worse.arrow) == ("up", False, "▲")
    assert worse.text == "+4 pts vs previous period (1 %)"
    fresh = rate_change(Totals(10, 0), Totals())
    assert (fresh.direction, fresh.good) == ("flat", None)
    assert sessions_change(Totals(10, 0), Totals()).text == "none in the previous period"
    fewer = sessions_change(Totals(50, 0), Totals(100, 0))
    assert (fewer.direction, fewer.text) == ("down", f"{MINUS}50 % vs previous period (100)")


def test_days_without_reports_are_gaps_not_zeros() -> None:
    # Seven days: reports on the first two and the fifth only, the fifth all failed.
    days: list[Totals | None] = [Totals(10, 0), Totals(9, 1), None, None, Totals(0, 5), None, None]
    svg = sparkline_svg(Sparkline(days, "day"))
    assert 'data-gaps="4"' in svg
    assert len(re.findall(r'<rect class="sparkline-bar"', svg)) == 3
    path = re.search(r'class="sparkline-rate" d="([^"]*)"', svg)
    assert path is not None
    runs = path.group(1).split("M")[1:]
    assert len(runs) == 2  # the line breaks at the gap, never drawn through it at zero
    assert 'data-scale="100"' in svg  # the day at 100 % sets the axis
    nothing = sparkline_svg(Sparkline([None] * 7, "day"))
    assert 'data-gaps="7"' in nothing and "sparkline-rate" not in nothing
    assert "No reports in any day of this period" in nothing


def test_the_page_draws_a_gap_for_each_day_without_reports(acme: Tenant, owner: Client) -> None:
    domain = make_domain(acme, "example.org")
    for n in (1, 2, 5):
        rollup(domain, days_ago(n), 10, 0)
    shown = card(overview(owner, days="7"), "example.org")
    assert 'data-gaps="4"' in shown
    assert len(re.findall(r'<rect class="sparkline-bar"', shown)) == 3


def test_the_top_finding_carries_the_dashboards_fix(acme: Tenant, owner: Client) -> None:
    domain = make_domain(acme, "example.org")
    rollup(domain, days_ago(2), 50, 50, kind="starttls-not-supported")
    shown = card(overview(owner), "example.org")
    expected = advice("starttls-not-supported")
    assert expected.title in shown
    assert f"<strong>Fix:</strong> {expected.fix}" in shown


def test_without_failures_a_dns_problem_is_the_top_finding(acme: Tenant, owner: Client) -> None:
    domain = make_domain(acme, "example.org")
    rollup(domain, days_ago(2), 100, 0)
    problem = Finding(Level.ERROR, "tlsrpt_missing", "No TLS-RPT record.", "Publish it.")
    with scopes_disabled():
        DnsCheck.objects.create(
            tenant=acme, domain=domain, kind=CheckKind.TLSRPT, status=CheckStatus.ERROR,
            findings=[problem.as_dict()],
        )  # fmt: skip
    shown = card(overview(owner), "example.org")
    assert "TLS-RPT record" in shown and "<strong>Fix:</strong> Publish it." in shown
    assert "DNS problem" in shown and "DNS health (1)" in shown


def sts_check(domain: Domain, policy: str | None) -> DnsCheck:
    records = {"policy": policy} if policy else {}
    with scopes_disabled():
        return DnsCheck.objects.create(
            tenant=domain.tenant, domain=domain, kind=CheckKind.MTA_STS,
            status=CheckStatus.OK if policy else CheckStatus.ERROR, records=records,
        )  # fmt: skip


def test_the_mta_sts_mode_senders_see(acme: Tenant) -> None:
    domain = make_domain(acme, "example.org")
    testing = "version: STSv1\nmode: testing\nmx: mx.example.org\nmax_age: 86400\n"
    assert mta_sts_of(sts_check(domain, testing), None).status.text == "testing"
    assert mta_sts_of(sts_check(domain, None), None).status.text == "none"
    assert mta_sts_of(sts_check(domain, "mode: enforce"), None).status.kind == "fail"
    assert mta_sts_of(None, None).status.text == "not checked"
    hosted = mta_sts_of(sts_check(domain, testing), "enforce")
    assert (hosted.status.kind, hosted.status.text) == ("ok", "enforce · hosted")


def test_a_card_says_the_hosted_policy_and_the_tls_rpt_record(acme: Tenant, owner: Client) -> None:
    domain = make_domain(acme, "example.org", mx_hosts=["mx.example.org"])
    with scopes_disabled():
        Domain.objects.filter(pk=domain.pk).update(tlsrpt_ok=True)
        HostedPolicy.objects.create(
            tenant=acme, domain=domain, enabled=True, mode="enforce", mx=["mx.example.org"],
            max_age=86400, policy_id="20261201000000",
        )  # fmt: skip
    shown = card(overview(owner), "example.org")
    assert "enforce · hosted" in shown and "points here" in shown


def many_domains(tenant: Tenant, n: int) -> list[Domain]:
    with scopes_disabled():
        Domain.objects.bulk_create(
            Domain(tenant=tenant, name=f"d{i:03}.example", verified_at=timezone.now())
            for i in range(n)
        )
        return list(Domain.objects.filter(tenant=tenant).order_by("name"))


def test_past_50_domains_the_page_paginates_worst_first(acme: Tenant, owner: Client) -> None:
    domains = many_domains(acme, 52)
    worst = domains[-1]  # last by name, first by failures
    rollup(worst, days_ago(2), 10, 90)
    rollup(domains[0], days_ago(2), 100, 0)
    first = overview(owner)
    names = card_names(first)
    assert len(names) == 50 and names[0] == worst.name
    assert f"Domains 1{EN_DASH}50 of 52, worst first" in first
    assert 'href="?page=2"' in first
    second = overview(owner, page="2")
    assert card_names(second) == ["d050.example", "d000.example"]  # silent ones, then healthy
    # The summary covers every domain, whichever page is shown.
    for page in (first, second):
        sessions = re.search(r'data-kpi="sessions">.*?kpi-value">([^<]*)<', page, re.S)
        assert sessions is not None and sessions.group(1) == "200"
    table = overview(owner, page="2", view="table")
    rows = re.findall(r'<tr data-domain="([^"]+)">', table)
    assert rows == ["d050.example", "d000.example"]


def test_the_table_view_is_one_link_away_and_kept_in_the_url(acme: Tenant, owner: Client) -> None:
    domain = make_domain(acme, "example.org")
    rollup(domain, days_ago(2), 98, 2)
    cards = overview(owner, days="7")
    assert 'href="?days=7&amp;view=table"' in cards
    assert 'id="overview"' not in cards and 'id="domain-cards"' in cards
    table = overview(owner, days="7", view="table")
    assert re.search(r'<tr data-domain="example.org">.*?data-failed="2"', table, re.S)
    assert 'href="?days=7&amp;view=table" aria-current="page"' in table
    assert 'href="?days=30&amp;view=table"' in table  # the period links keep the view
    assert '<input type="hidden" name="view" value="table">' in table
    assert 'href="?days=7"' in table  # back to the cards


def test_empty_states_say_what_to_do_next(acme: Tenant, owner: Client) -> None:
    page = overview(owner)
    assert "No domains yet" in page and "Add your first domain" in page
    assert 'id="summary"' not in page
    make_domain(acme, "example.org", verified=False)
    page = overview(owner)
    assert "No verified domain yet" in page and "Verify that you own example.org" in page


def queries_of(client: Client, **params: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        overview(client, **params)
    return len(queries)


def test_more_domains_and_pages_cost_no_more_queries(acme: Tenant, owner: Client) -> None:
    domains = many_domains(acme, 3)
    for domain in domains:
        rollup(domain, days_ago(2), 90, 10)
    overview(owner)  # once, so that a first visit's own queries do not count
    few = queries_of(owner)
    for i in range(60):
        rollup(make_domain(acme, f"e{i:03}.example"), days_ago(3), 99, 1)
    assert queries_of(owner) <= few
    assert queries_of(owner, page="2", view="table") <= few
