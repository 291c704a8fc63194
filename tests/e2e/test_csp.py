"""The Content-Security-Policy in a real browser: enforced, and nothing of ours refused.

Every e2e test fails on a refusal (tests/e2e/conftest.py); these check that the watch
sees one, and walk the pages no other test opens: the API's documentation.
"""

import pytest
from playwright.sync_api import Browser, expect

from tests.accounts.test_access import ROUTES, objects, url
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=15_000)

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
# Pages of a signed-in person outside a tenant (the tenant's come from the access table).
ACCOUNT_PAGES = [
    "/",
    "/t/new/",
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/2fa/",
    "/accounts/2fa/totp/activate",
]


def test_an_injected_inline_script_is_refused_and_seen(
    browser: Browser, live: str, csp_violations: list[str]
) -> None:
    page = browser.new_page()
    response = page.goto(f"{live}/accounts/login/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]

    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.ran = 1";
          document.body.append(script);
          const button = document.createElement("button");
          button.setAttribute("onclick", "window.clicked = 1");
          document.body.append(button);
          button.click();
        }"""
    )

    expect(page.locator("body")).to_be_visible()  # lets the reports reach the test
    assert page.evaluate("[window.ran, window.clicked]") == [None, None]
    refused = sorted(v.split(" ")[0] for v in csp_violations)
    assert refused == ["script-src-attr", "script-src-elem"]
    csp_violations.clear()  # seen on purpose; the fixture fails a test on any other


def test_the_api_documentation_lists_its_operations_under_the_policy(
    browser: Browser, live: str, csp_violations: list[str]
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    response = page.goto(f"{live}/api/v1/docs/")

    assert response is not None
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/domains").first).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    assert errors == []
    assert csp_violations == []


def test_redoc_renders_the_api_under_the_policy(
    browser: Browser, live: str, csp_violations: list[str]
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    response = page.goto(f"{live}/api/v1/docs/redoc/")

    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self' 'unsafe-inline'" in policy
    expect(page.get_by_role("heading", name="TLS-RPT API").first).to_be_visible()
    expect(page.get_by_text("/api/v1/domains").first).to_be_attached()
    page.get_by_placeholder("Search...").fill("domains")
    expect(page.get_by_role("search").get_by_role("menuitem").first).to_be_visible()
    assert errors == []
    # Redoc shows its maker's logo from a CDN; the policy keeps the page from fetching it.
    assert csp_violations == [f"img-src refused {REDOC_LOGO} on {live}/api/v1/docs/redoc/ (?:0): "]
    csp_violations.clear()


def test_every_page_loads_under_the_policy(
    browser: Browser, live: str, csp_violations: list[str]
) -> None:
    o = objects("acme")
    paths = [
        url(name, o, kwargs_of)
        for (name, method), (_, kwargs_of, _) in sorted(ROUTES.items())
        if method == "get"
    ]
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    page.goto(f"{live}/accounts/login/")
    page.get_by_label("Email").fill("owner@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(f"{live}/accounts/login/")

    for path in paths + ACCOUNT_PAGES:
        fetched = page.request.get(live + path)
        assert fetched.ok, path
        if not fetched.headers["content-type"].startswith("text/html"):
            continue  # a file to download (CSV, raw report), not a page
        response = page.goto(live + path, wait_until="load")
        assert response is not None and response.ok, path
    page.goto(f"{live}/accounts/login/")  # the last page's reports reach the test

    assert errors == []
    assert csp_violations == []
