"""The domain dashboard in a real browser, on real reports from the corpus."""

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Screenshot
from tests.factories import PASSWORD, make_domain, make_tenant
from tests.reports.helpers import corpus, ingest

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=10_000)

KRVTZ = [
    "google-2024-09-15-sts-enforce-krvtz.eml",
    "google-2024-09-18-sts-enforce-krvtz.eml",
    "microsoft-2024-09-sts-and-tlsa-13-hashes-krvtz.eml",
]


def test_the_dashboard_draws_its_chart_and_tables(
    browser: Browser, live: str, screenshot: Screenshot
) -> None:
    tenant = make_tenant("acme", owner="ana@example.com")
    domain = make_domain(tenant, "krvtz.net")
    for name in KRVTZ:
        ingest(tenant, corpus(name))
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{live}/accounts/login/")
    page.get_by_label("Email").fill("ana@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live}/t/acme/?from=2024-09-01&to=2024-09-30")
    expect(page.locator("#domain-cards article[data-domain='krvtz.net']")).to_be_visible()
    screenshot(page, "11-overview")
    page.get_by_role("link", name="krvtz.net").first.click()
    page.goto(f"{live}/t/acme/domains/{domain.pk}/dashboard/?from=2024-09-01&to=2024-09-30")

    drawn = page.evaluate("() => !!Chart.getChart(document.getElementById('daily-chart'))")
    assert drawn
    expect(page.locator("#organizations tr[data-organization='Google Inc.']")).to_be_visible()
    expect(page.locator("[data-total='sessions']")).not_to_have_text("0")
    screenshot(page, "12-domain-dashboard")
    page.get_by_role("link", name="This domain's reports").click()
    expect(page.locator("#reports tr[data-report]")).to_have_count(3)
    page.locator("#reports a").first.click()
    expect(page.locator("#raw-json")).to_be_visible()
    screenshot(page, "13-report-detail")
    assert errors == []
