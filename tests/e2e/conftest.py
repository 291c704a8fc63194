"""Headless Chromium (Debian's, never a downloaded one) driven by Playwright.

``make test`` installs Chromium with apt when it can (bin/testenv); without it these
tests skip with the reason, and under CI a skip fails the run.

Every page a test opens reports what the Content-Security-Policy refused (the browser's
``securitypolicyviolation`` events); a test during which anything was refused fails, since
a refused script or style is a broken page.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from playwright.sync_api import Browser, BrowserContext, Page
from pytest_django.live_server_helper import LiveServer

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--disable-sync",
    "--no-first-run",
]


# The screenshot fixture: saves the page under a name, answers the file.
Screenshot = Callable[[Page, str], Path]

# Runs in every document before its own scripts (Playwright's init scripts are not
# subject to the page's policy) and hands each refusal to the test.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation(
    `${event.effectiveDirective} refused ${event.blockedURI || "?"} on ${event.documentURI}` +
      ` (${event.sourceFile || "?"}:${event.lineNumber}): ${event.sample}`,
  );
}, true);
"""


def watch_csp(context: BrowserContext, violations: list[str]) -> BrowserContext:
    """Collect into ``violations`` what the policy refuses in the context's pages."""

    def report(violation: str) -> None:
        violations.append(violation)

    context.expose_function("__cspViolation", report)
    context.add_init_script(script=REPORT_CSP_VIOLATIONS)
    return context


@pytest.fixture
def csp_violations() -> list[str]:
    """What the Content-Security-Policy refused in the test's pages so far."""
    return []


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch, csp_violations: list[str]) -> Iterator[Browser]:
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        pytest.skip(f"Chromium not found at {path}: install Debian's chromium (make test does)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread while it runs; the test's
    # own ORM calls are still synchronous and one at a time. Only for this test.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        _watch_new_pages(monkeypatch, browser, csp_violations)
        yield browser
        browser.close()
        # While Playwright runs, Django keys its connections to Playwright's context:
        # the test's own connection must be closed here, or it outlives the test.
        connections.close_all()
    refused = "\n".join(csp_violations)
    assert not csp_violations, f"the Content-Security-Policy refused:\n{refused}"


def _watch_new_pages(
    monkeypatch: pytest.MonkeyPatch, browser: Browser, violations: list[str]
) -> None:
    """Every context and page the test makes from ``browser`` reports CSP violations."""
    new_context, new_page = browser.new_context, browser.new_page

    def watched_context(**options: Any) -> BrowserContext:
        return watch_csp(new_context(**options), violations)

    def watched_page(**options: Any) -> Page:
        page = new_page(**options)  # a context of its own, closed with the page
        watch_csp(page.context, violations)  # before its first navigation
        return page

    monkeypatch.setattr(browser, "new_context", watched_context)
    monkeypatch.setattr(browser, "new_page", watched_page)


@pytest.fixture
def live(live_server: LiveServer) -> Iterator[str]:
    """The live server's base URL, its request threads closing their connections.

    The server handles each request on a thread of its own; with a connection age, the
    connections of finished threads would stay open and keep the test database from
    being dropped.
    """
    from django.db import connections

    config = connections.settings["default"]
    age = config["CONN_MAX_AGE"]
    config["CONN_MAX_AGE"] = 0
    yield live_server.url
    config["CONN_MAX_AGE"] = age


@pytest.fixture
def screenshot() -> Screenshot:
    """Save a full-page PNG of ``page`` as a test artifact under var/test-artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(scope="module")
def demo_site(
    django_db_setup: None, django_db_blocker: Any, dns_zone: tuple[Any, int]
) -> Iterator[Any]:
    """The demo tenant, built once for the module and served by a live server of its own
    (tests/e2e/pages.py); the database is flushed after the module."""
    from tests.e2e.pages import demo_site_served

    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        pytest.skip(f"Chromium not found at {path}: install Debian's chromium (make test does)")

    with demo_site_served(django_db_blocker, dns_zone[1]) as site:
        yield site


@pytest.fixture(scope="module")
def tabs(demo_site: Any) -> Iterator[Any]:
    """One Chromium for the module, one reused context per theme and width."""
    from tests.e2e.pages import Tabs

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # as the browser fixture, for the module
    tabs = Tabs(demo_site)
    yield tabs
    tabs.close()
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
