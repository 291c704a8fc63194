"""The Content-Security-Policy in a real browser: enforced, and nothing of ours refused.

Every e2e test fails on a refusal (tests/e2e/conftest.py); these check that the watch
sees one, and walk the pages no other test opens: the API's documentation. Every page of
the access table and the account pages is loaded, in both themes and three widths, by
tests/e2e/test_page_quality.py, which fails on any refusal or script error.
"""

import pytest
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=15_000)

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


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
