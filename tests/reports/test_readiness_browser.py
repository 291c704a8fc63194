"""The readiness card in a real browser: htmx loads it on the domain page and the
dashboard, under the enforced Content-Security-Policy."""

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Screenshot, browser, csp_violations, live, screenshot
from tests.factories import PASSWORD, make_domain, make_tenant
from tests.reports.test_readiness import (
    GOOGLE,
    MICROSOFT,
    expired_on_three_days,
    hosted,
    receive,
    window_days,
)

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=10_000)
__all__ = ["browser", "csp_violations", "live", "screenshot"]  # fixtures, used by name

LINE = (
    "mx2.karlsen.fr: certificate-expired on 3 of 14 days, seen by Google Inc. and "
    "Microsoft Corporation, 41 sessions"
)


def test_the_domain_page_and_dashboard_show_the_evidence(
    browser: Browser, live: str, screenshot: Screenshot
) -> None:
    tenant = make_tenant("acme")
    domain = make_domain(tenant, "karlsen.fr", mx_hosts=["mx.domeneshop.no"])
    hosted(domain)
    today = timezone.now().date()
    google, microsoft = expired_on_three_days(today)
    receive(tenant, GOOGLE, window_days(today), google)
    receive(tenant, MICROSOFT, window_days(today), microsoft)

    page = browser.new_page()
    page.goto(live + "/accounts/login/")
    page.get_by_label("Email").fill("owner@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    for path in ("", "dashboard/"):
        page.goto(f"{live}/t/acme/domains/{domain.pk}/{path}")
        card = page.get_by_role("region", name="Readiness to enforce MTA-STS")
        expect(card.locator("#readiness-verdict")).to_have_text("✗ Not ready to enforce")
        expect(card.locator("#readiness-evidence li").first).to_have_text(LINE)
    screenshot(page, "readiness-not-ready")
