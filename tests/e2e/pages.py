"""Every page of the product on the demo tenant, for the page-wide browser checks
(quality, accessibility, weight).

The demo tenant (``manage.py demo``) is built once per test module, committed, and
served by a live server of the module's own; the module's tests only read it, and the
database is flushed afterwards as a transactional test's would be. Pages are named by
their URL name (the access table's, ``tests/accounts/test_access.py``) plus a variant, so a
parametrized test's id says which page failed.
"""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import Client, override_settings
from django.urls import reverse
from django_scopes import scopes_disabled
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from domains.models import Domain
from reports.demo.generate import SLUG, demo_build
from reports.inbound.secrets import secret_encrypt
from reports.models import InboundMessage, MailboxSource, Report, SelfTest, Status
from reports.webhooks.models import WebhookEndpoint
from tests.accounts.test_access import ROUTES
from tests.e2e.conftest import CHROMIUM_ARGS, watch_csp

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
THEMES = ("light", "dark")
WIDTHS = (360, 1024, 1440)
HEIGHT = 900

# GET routes of the access table that are not HTML pages of their own.
NOT_PAGES = {
    "inbound_raw": "a download: the message's raw bytes",
    "report_raw": "a download: the report's JSON",
    "export_csv": "a download: CSV",
    "domain_health": "an htmx partial, shown inside the domain page",
}


@dataclass
class DemoSite:
    """The built demo tenant's objects that page URLs name."""

    url: str
    owner: User
    domains: dict[str, int]
    report: int
    conflict: int
    mailbox: int
    webhook: int
    self_test: tuple[int, int]
    session: dict[str, Any] = field(default_factory=dict)


def _tenant_url(name: str, **kwargs: object) -> str:
    return reverse(name, kwargs={"slug": SLUG, **kwargs})


def _domain(site: DemoSite, name: str = "example.org") -> dict[str, object]:
    return {"pk": site.domains[name]}


# Page id -> (URL name, its kwargs beyond the slug). Variants show other states.
_ROUTE_KWARGS: dict[str, Callable[[DemoSite], dict[str, object]]] = {
    "domain_detail": _domain,
    "domain_delete": _domain,
    "domain_mta_sts": lambda s: _domain(s, "example.com"),
    "domain_dashboard": _domain,
    "domain_readiness": _domain,
    "inbound_conflict": lambda s: {"pk": s.conflict},
    "mailbox_edit": lambda s: {"pk": s.mailbox},
    "report_detail": lambda s: {"pk": s.report},
    "self_test_progress": lambda s: {"pk": s.self_test[0], "test_id": s.self_test[1]},
    "webhook_detail": lambda s: {"pk": s.webhook},
    "webhook_edit": lambda s: {"pk": s.webhook},
}
VARIANTS: dict[str, tuple[str, Callable[[DemoSite], dict[str, object]]]] = {
    "domain_dashboard-healthy": ("domain_dashboard", lambda s: _domain(s, "example.com")),
    "domain_dashboard-no-reports": ("domain_dashboard", lambda s: _domain(s, "shop.example.com")),
    "domain_detail-unverified": (
        "domain_detail", lambda s: _domain(s, "newsletter.example.net"),
    ),
}  # fmt: skip
TENANT_PAGES = sorted(
    [name for name, method in ROUTES if method == "get" and name not in NOT_PAGES] + list(VARIANTS)
)
# Signed in, outside a tenant.
ACCOUNT_PAGES = {
    "home": "/",
    "tenant_new": "/t/new/",
    "account_email": "/accounts/email/",
    "account_change_password": "/accounts/password/change/",
    "mfa_index": "/accounts/2fa/",
    "mfa_activate_totp": "/accounts/2fa/totp/activate",
}
SIGNED_OUT_PAGES = {"account_login": "/accounts/login/", "account_signup": "/accounts/signup/"}
ALL_PAGES = TENANT_PAGES + sorted(ACCOUNT_PAGES) + sorted(SIGNED_OUT_PAGES)
# axe-core with the WCAG 2.0/2.1 A and AA rules: its serious and critical violations, each
# with the rule, its impact, the first elements and the rule's help page.
AXE_WIDTH = 1024
RUN_AXE = """
async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    resultTypes: ["violations"],
  });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, count: v.nodes.length,
      targets: v.nodes.slice(0, 6).map((n) => n.target.join(" ")),
    }));
}
"""
# The pages the keyboard and the eye care most about.
MAIN_PAGES = ["tenant_home", "domain_dashboard", "report_detail", "inbound_log"]


def page_path(site: DemoSite, page: str) -> str:
    if page in ACCOUNT_PAGES:
        return ACCOUNT_PAGES[page]
    if page in SIGNED_OUT_PAGES:
        return SIGNED_OUT_PAGES[page]
    if page in VARIANTS:
        name, variant_kwargs = VARIANTS[page]
        return _tenant_url(name, **variant_kwargs(site))
    route_kwargs = _ROUTE_KWARGS.get(page)
    return _tenant_url(page, **(route_kwargs(site) if route_kwargs else {}))


def signed_in(page: str) -> bool:
    return page not in SIGNED_OUT_PAGES


def demo_site_build() -> DemoSite:
    """The demo tenant, and the few objects it has no reason to hold (a mailbox, a webhook,
    a self-test) but whose pages need one."""
    built = demo_build(password="demo-password")
    with scopes_disabled():
        domains = dict(Domain.objects.filter(tenant=built.tenant).values_list("name", "pk"))
        report = (
            Report.objects.filter(
                tenant=built.tenant, organization="Google Inc.", failed__gt=0,
                policies__domain_id=domains["example.org"],
            )
            .order_by("-day")
            .first()
        )  # fmt: skip
        conflict = InboundMessage.objects.get(
            tenant=built.tenant, status=Status.DUPLICATE_CONFLICTING
        )
        mailbox = MailboxSource.objects.create(
            tenant=built.tenant, name="Reports mailbox", host="imap.example.com", port=993,
            tls_mode="ssl", username="tlsrpt@example.com",
            password_encrypted=secret_encrypt("not-used"),
        )  # fmt: skip
        webhook = WebhookEndpoint.objects.create(
            tenant=built.tenant, url="https://hooks.example.com/tlsrpt",
            events=["alert.opened", "alert.resolved"],
            secret_encrypted=secret_encrypt("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        )  # fmt: skip
        self_test = SelfTest.objects.create(
            tenant=built.tenant, domain_id=domains["example.com"], report_id="selftest-demo"
        )
    assert report is not None
    return DemoSite(
        url="", owner=built.owner, domains=domains, report=report.pk, conflict=conflict.pk,
        mailbox=mailbox.pk, webhook=webhook.pk,
        self_test=(domains["example.com"], self_test.pk),
    )  # fmt: skip


@contextmanager
def demo_site_served(blocker: Any, dns_port: int) -> Iterator[DemoSite]:
    """Build the demo site, serve it for the module, then flush the database."""
    fast = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        DNS_NAMESERVERS=["127.0.0.1"], DNS_PORT=dns_port, DNS_TIMEOUT=2.0,
    )  # fmt: skip
    with blocker.unblock(), fast:
        config = connections.settings["default"]
        age, config["CONN_MAX_AGE"] = config["CONN_MAX_AGE"], 0
        server = LiveServer("localhost")
        server._live_server_modified_settings.enable()
        try:
            site = demo_site_build()
            site.url = server.url
            site.session = session_cookie(site)
            yield site
        finally:
            server._live_server_modified_settings.disable()
            server.stop()
            config["CONN_MAX_AGE"] = age
            connections.close_all()
            call_command("flush", interactive=False, verbosity=0)


def session_cookie(site: DemoSite) -> dict[str, Any]:
    """A signed-in session of the demo owner, as a Playwright cookie."""
    client = Client()
    client.force_login(site.owner)
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"name": settings.SESSION_COOKIE_NAME, "value": value, "url": site.url}


@dataclass
class Tab:
    """One browser context and page, reused across pages: what it saw while loading."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    switched: str = ""  # the theme ``switch`` left the page in, if any

    def visit(self, url: str) -> None:
        self.errors.clear()
        self.refused.clear()
        if self.switched:  # back to the context's own colour scheme
            self.page.emulate_media(color_scheme="null")
            self.switched = ""
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, (
            f"{url}: {response and response.status}"
        )
        settled(self.page)

    def switch(self, theme: str) -> None:
        """The system's colour scheme changes to ``theme`` while the page is open: the page
        follows it live (static/js/theme.js, the charts redraw), as it does for a person
        whose system turns dark at dusk. One load then serves the checks of both themes."""
        self.page.emulate_media(color_scheme=theme)  # type: ignore[arg-type]  # one of THEMES
        self.switched = theme
        settled(self.page)
        # Colours change through CSS transitions (Bootstrap's links, buttons): read mid-way
        # they would be neither theme's. Wait for every running transition to end.
        self.page.evaluate(
            "() => Promise.all(document.getAnimations().filter((a) => a instanceof CSSTransition)"
            "  .map((a) => a.finished.catch(() => {})))"
        )
        shown = self.page.evaluate("document.documentElement.dataset.bsTheme")
        assert shown == theme, f"the page stayed {shown} when the system turned {theme}"


def settled(page: Page) -> None:
    """Fonts loaded and two frames drawn: what the page's scripts do on load is done."""
    page.evaluate(
        "() => document.fonts.ready.then(() => new Promise(r =>"
        " requestAnimationFrame(() => requestAnimationFrame(r))))"
    )


class Tabs:
    """One browser for a test module, one context per (theme, width, signed in)."""

    def __init__(self, site: DemoSite) -> None:
        self.site = site
        self._playwright: Playwright = sync_playwright().start()
        path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        self.browser: Browser = self._playwright.chromium.launch(
            executable_path=path, args=CHROMIUM_ARGS
        )
        self._tabs: dict[tuple[str, int, bool, bool], Tab] = {}

    def get(self, theme: str, width: int, *, signed_in: bool = True, axe: bool = False) -> Tab:
        key = (theme, width, signed_in, axe)
        if key not in self._tabs:
            self._tabs[key] = self.new(theme, width, signed_in=signed_in, axe=axe)
        return self._tabs[key]

    def new(self, theme: str, width: int, *, signed_in: bool = True, axe: bool = False) -> Tab:
        """A context of its own; ``axe``: with axe-core loaded in every document.

        axe goes in as an init script: Playwright runs those outside the page's
        Content-Security-Policy, whereas ``add_script_tag`` adds an inline ``<script>``,
        which ``script-src 'self'`` refuses (as it should)."""
        context = self.browser.new_context(
            viewport={"width": width, "height": HEIGHT},
            color_scheme=theme,  # type: ignore[arg-type]  # one of THEMES
        )
        if axe:
            context.add_init_script(path=AXE)
        tab = Tab(context, context.new_page())
        watch_csp(context, tab.refused)
        if signed_in:
            context.add_cookies([self.site.session])  # type: ignore[list-item]
        tab.page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
        tab.page.on("pageerror", lambda e: tab.errors.append(str(e)))
        return tab

    def close(self) -> None:
        for tab in self._tabs.values():  # contexts made with new() close with the browser
            tab.context.close()
        self.browser.close()
        # While Playwright runs, Django keys connections to its context: those the tests
        # opened meanwhile are closed here, or they outlive the test database.
        connections.close_all()
        self._playwright.stop()
