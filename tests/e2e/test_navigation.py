"""The navigation bar at common screen widths: every menu reachable, nothing off-screen.

At each width a person logs in, opens the overview and, by clicking, reaches the tenant
switcher (another tenant), the management menu and the account menu's two-factor page
and log-out; each of them is checked to be inside the viewport, and the page must not
scroll sideways. A screenshot per width, with the account menu open, is kept.
"""

import pytest
from django.db import connections
from playwright.sync_api import Browser, Page, expect

from accounts.models import Membership, Role, Tenant
from tests.e2e.conftest import Screenshot
from tests.factories import PASSWORD, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=10_000)

WIDTHS = (360, 768, 1024, 1366, 1920)
EMAIL = "ana.lopez-fernandez@example.com"


def reveal(page: Page) -> None:
    """Open the collapsed bar (below 992 px, behind the Menu button) if it is closed."""
    toggler = page.get_by_role("button", name="Menu")
    if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
        expect(toggler).to_be_in_viewport(ratio=1)
        toggler.click()
    expect(page.locator("#nav")).to_be_visible()


def open_menu(page: Page, toggle: str) -> None:
    reveal(page)
    button = page.locator(toggle)
    expect(button).to_be_in_viewport(ratio=1)
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")


def choose(page: Page, toggle: str, item: str) -> None:
    """Open the menu of ``toggle``, see ``item`` whole on screen, and click it."""
    open_menu(page, toggle)
    link = page.locator(f"[aria-labelledby='{toggle[1:]}']").get_by_role("link", name=item)
    expect(link).to_be_in_viewport(ratio=1)
    link.click()


def no_sideways_scroll(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.fixture
def tenants() -> None:
    acme = make_tenant("acme", owner=EMAIL)
    acme.name = "Acme Logistics International"
    acme.save()
    globex = make_tenant("globex")
    Membership.objects.create(user=Membership.objects.get(tenant=acme).user, tenant=globex,
                              role=Role.ADMIN)  # fmt: skip
    assert Tenant.objects.count() == 2
    connections.close_all()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_menu_is_reachable_at_this_width(
    browser: Browser, live: str, screenshot: Screenshot, tenants: None, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto(f"{live}/accounts/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live}/t/acme/")
    expect(page.get_by_role("heading", name="Acme Logistics International")).to_be_visible()
    no_sideways_scroll(page, width)

    choose(page, "#tenant-switcher", "Globex")
    expect(page.get_by_role("heading", name="Globex", exact=True)).to_be_visible()
    choose(page, "#tenant-switcher", "Acme Logistics International")
    expect(page.get_by_role("heading", name="Acme Logistics International")).to_be_visible()

    choose(page, "#manage-menu", "Audit log")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    no_sideways_scroll(page, width)

    choose(page, "#account-menu", "Two-factor authentication")
    expect(page).to_have_url(f"{live}/accounts/2fa/")
    page.goto(f"{live}/t/acme/")
    open_menu(page, "#account-menu")
    log_out = page.locator("[aria-labelledby='account-menu']").get_by_role("link", name="Log out")
    expect(log_out).to_be_in_viewport(ratio=1)
    no_sideways_scroll(page, width)
    screenshot(page, f"nav-{width}")
    log_out.click()
    page.get_by_role("button", name="Log out").click()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")
    ).to_be_visible()
    context.close()
