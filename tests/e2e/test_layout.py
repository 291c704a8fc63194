"""One layout for every page (issue 18), with long names: a tenant, an owner's address and
a domain as long as real ones get, on a 360 px phone. Its account, domain and management
pages, the not-found page and the signed-out pages keep the navbar, breadcrumbs and one page
title, scroll nowhere sideways and log no console error; the account pages keep the
tenant's navigation. (Every page of the demo tenant, in both themes at three widths, is
tests/e2e/test_page_quality.py's.)"""

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

from accounts.models import Role, Tenant
from tests.e2e.conftest import Screenshot
from tests.factories import make_domain, make_member, make_tenant, owner_of

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH = 360


@pytest.fixture
def acme() -> tuple[Tenant, dict[str, str]]:
    tenant = make_tenant("acme", owner="ana.lopez-fernandez@example.com")
    tenant.name = "Acme Logistics International"
    tenant.save()
    make_member(tenant, Role.ADMIN, "bob@example.com")
    domain = make_domain(
        tenant, "mail-gateway.acme-logistics.example", mx_hosts=["mx1.acme.example"]
    )
    make_domain(tenant, "pending.example", verified=False)
    slug = "acme"
    pages = {
        "domains": reverse("domain_list", args=[slug]),
        "domain": reverse("domain_detail", args=[slug, domain.pk]),
        "mta-sts": reverse("domain_mta_sts", args=[slug, domain.pk]),
        "members": reverse("members", args=[slug]),
        "settings": reverse("tenant_settings", args=[slug]),
        "api-keys": reverse("api_keys", args=[slug]),
        "audit-log": reverse("audit_log", args=[slug]),
        "webhooks": reverse("webhook_list", args=[slug]),
        "mailboxes": reverse("mailbox_list", args=[slug]),
        "upload": reverse("upload", args=[slug]),
        "tenant-new": reverse("tenant_new"),
        "account-email": reverse("account_email"),
        "account-password": reverse("account_change_password"),
        "account-2fa": reverse("mfa_index"),
        "not-found": "/t/acme/domains/999999/",
    }
    connections.close_all()
    return tenant, pages


def signed_in(browser: Browser, live: str, tenant: Tenant, **options: object) -> BrowserContext:
    client = Client()
    client.force_login(owner_of(tenant))
    context = browser.new_context(**options)  # type: ignore[arg-type]
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live}])
    return context


def watch_errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions (the 404 page's own status is expected)."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and "404" not in m.text else None,
    )
    return errors


def check_layout(page: Page, width: int, errors: list[str], *, breadcrumbs: bool = True) -> None:
    url = page.url
    assert page.locator("nav[aria-label='Main']").is_visible(), url
    assert page.locator("h1").count() == 1, url
    assert page.locator("h1").first.is_visible(), url
    if breadcrumbs:
        assert page.locator("nav[aria-label='Breadcrumb'] .breadcrumb-item").count() >= 1, url
    wide = page.evaluate("""() => [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .filter((e) => !e.parentElement.closest(".table-responsive, .dropdown-menu"))
      .slice(0, 8).map((e) => `${e.tagName}#${e.id}.${e.className}`)""")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, (url, wide)
    assert errors == [], (url, errors)


def test_every_account_and_management_page_has_the_one_layout_with_long_names(
    browser: Browser, live: str, screenshot: Screenshot, acme: tuple[Tenant, dict[str, str]]
) -> None:
    tenant, pages = acme
    viewport: ViewportSize = {"width": WIDTH, "height": 900}
    context = signed_in(browser, live, tenant, viewport=viewport)
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(f"{live}{reverse('tenant_home', args=['acme'])}")  # remembered for /accounts/
    for name, path in pages.items():
        page.goto(f"{live}{path}")
        screenshot(page, f"layout-{name}-{WIDTH}")
        check_layout(page, WIDTH, errors, breadcrumbs=name != "not-found")
    # The account pages keep the tenant's navigation.
    page.goto(f"{live}{pages['account-email']}")
    assert page.locator("#manage-menu").count() == 1
    context.close()

    guest = browser.new_context(viewport=viewport)
    page = guest.new_page()
    errors = watch_errors(page)
    for name, path in (
        ("login", reverse("account_login")),
        ("signup", reverse("account_signup")),
        ("home", "/"),
    ):
        page.goto(f"{live}{path}")
        check_layout(page, WIDTH, errors, breadcrumbs=False)
        screenshot(page, f"layout-{name}-{WIDTH}")
    guest.close()
