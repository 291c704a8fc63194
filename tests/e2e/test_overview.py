"""The overview in a real browser, on reports ingested the way a door stores them.

A tenant with a healthy domain (Google and Microsoft report daily, with a few silent
days; MTA-STS enforce, hosted here), one failing since last week with
starttls-not-supported on its second MX (an open alert), one verified but with no
report yet and one waiting for verification. At 360, 1,024 and 1,440 px, in the light
and the dark theme: a card per verified domain, worst first, one, two and three a row,
no sideways scroll; the table view is reached with the keyboard. Screenshots are kept.
"""

import json
from datetime import timedelta
from typing import Literal

import pytest
from django.db import connections
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import Browser, Page, expect

from accounts.models import Tenant
from domains.hosting.models import HostedPolicy
from domains.models import CheckKind, CheckStatus, DnsCheck, Domain
from reports.alerts.rules import alerts_evaluate
from reports.models import DailyStat
from tests.e2e.conftest import Screenshot
from tests.factories import PASSWORD, make_domain, make_tenant
from tests.reports.helpers import ingest
from tests.reports.mail import report_json

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=10_000)

EMAIL = "ana@example.com"
TODAY = timezone.now().date()
WIDTHS = {360: 1, 1024: 2, 1440: 3}  # cards a row
ORDER = ["shop.example.net", "new.example.org", "example.com"]
TESTING = (
    "version: STSv1\nmode: testing\nmx: mx1.shop.example.net\nmx: mx2.shop.example.net\n"
    "max_age: 86400\n"
)


def send(tenant: Tenant, domain: str, days_ago: int, organization: str, ok: int, failed: int):
    document = report_json(
        domain=domain, day=(TODAY - timedelta(days=days_ago)).isoformat(), successful=ok,
        failed=failed, organization=organization,
    )  # fmt: skip
    if failed:
        detail = document["policies"][0]["failure-details"][0]
        detail["result-type"] = "starttls-not-supported"
        detail["receiving-mx-hostname"] = f"mx2.{domain}"
    ingest(tenant, json.dumps(document).encode(), "report.json")


@pytest.fixture
def acme() -> Tenant:
    tenant = make_tenant("acme", owner=EMAIL)
    tenant.name = "Acme Logistics"
    tenant.save()
    healthy = make_domain(tenant, "example.com", mx_hosts=["mx.example.com"])
    shop = make_domain(tenant, "shop.example.net", mx_hosts=["mx1.shop.example.net"])
    make_domain(tenant, "new.example.org")
    make_domain(tenant, "pending.example", verified=False)
    for n in range(1, 31):
        if n not in (4, 11, 12):  # days nobody reported
            send(tenant, "example.com", n, "Google Inc.", 1800 + 37 * (n % 5), 0)
        if n % 2:
            send(tenant, "example.com", n, "Microsoft Corporation", 420 + n, 0)
        if n <= 21:
            failed = 0 if n > 8 else 140 + 9 * n
            send(tenant, "shop.example.net", n, "Google Inc.", 610 - failed // 3, failed)
    with scopes_disabled():
        for n in range(31, 61):  # the previous 30 days, as the rollups keep them
            for domain, ok in ((healthy, 2300), (shop, 600)):
                DailyStat.objects.create(
                    tenant=tenant, domain=domain, day=TODAY - timedelta(days=n),
                    organization="Google Inc.", policy_type="sts", successful=ok,
                    counted_successful=ok, reports=1,
                )  # fmt: skip
        Domain.objects.filter(name__in=["example.com", "shop.example.net"]).update(tlsrpt_ok=True)
        HostedPolicy.objects.create(
            tenant=tenant, domain=healthy, enabled=True, mode="enforce", mx=["mx.example.com"],
            max_age=604800, policy_id="20261101000000",
        )  # fmt: skip
        DnsCheck.objects.create(
            tenant=tenant, domain=shop, kind=CheckKind.MTA_STS, status=CheckStatus.OK,
            records={"policy": TESTING},
        )  # fmt: skip
    with scope(tenant=tenant.pk):
        alerts_evaluate(tenant=tenant, today=TODAY)
    connections.close_all()
    return tenant


def log_in(page: Page, live: str) -> None:
    page.goto(f"{live}/accounts/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(f"{live}/accounts/login/")


def cards_a_row(page: Page) -> int:
    tops = page.eval_on_selector_all(
        "#domain-cards > article", "els => els.map(e => Math.round(e.getBoundingClientRect().top))"
    )
    return tops.count(tops[0])


def no_sideways_scroll(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_overview_at_each_width_and_theme(
    browser: Browser,
    live: str,
    screenshot: Screenshot,
    acme: Tenant,
    theme: Literal["light", "dark"],
) -> None:
    context = browser.new_context(color_scheme=theme, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, live)
    page.goto(f"{live}/t/acme/")
    cards = page.locator("#domain-cards > article")
    expect(cards).to_have_count(3)
    assert [cards.nth(i).get_attribute("data-domain") for i in range(3)] == ORDER
    shop = page.locator("article[data-domain='shop.example.net']")
    expect(shop.locator(".status").first).to_have_text("✗ Failing")
    expect(shop).to_contain_text("STARTTLS not offered")
    expect(shop).to_contain_text("Fix: Enable STARTTLS on every MX host")
    expect(shop).to_contain_text("testing")
    expect(page.locator("article[data-domain='example.com']")).to_contain_text("enforce · hosted")
    expect(page.locator("article[data-domain='new.example.org']")).to_contain_text(
        "No reports yet."
    )
    expect(page.locator("#alerts .alert-item[data-domain='shop.example.net']")).to_be_visible()
    expect(page.locator("#domains tr[data-domain='pending.example']")).to_be_visible()
    for width, per_row in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        expect(cards).to_have_count(3)
        assert cards_a_row(page) == per_row, width
        no_sideways_scroll(page, width)
        screenshot(page, f"overview-cards-{width}-{theme}")

    switch = page.get_by_role("link", name="Table")
    switch.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live}/t/acme/?view=table")
    rows = page.locator("#overview tbody tr")
    expect(rows).to_have_count(3)
    assert [rows.nth(i).get_attribute("data-domain") for i in range(3)] == ORDER
    expect(page.get_by_role("link", name="Table")).to_have_attribute("aria-current", "page")
    no_sideways_scroll(page, 1440)
    screenshot(page, f"overview-table-1440-{theme}")
    page.set_viewport_size({"width": 360, "height": 900})
    no_sideways_scroll(page, 360)
    screenshot(page, f"overview-table-360-{theme}")
    assert errors == []
