"""Accessibility: the main flows by keyboard, and axe kept to the test's side.

axe-core (tests/vendor, never served) runs on every page in both themes within
tests/e2e/test_page_quality.py (``pages.RUN_AXE``, at ``pages.AXE_WIDTH``). It is loaded as
an init script: the page's policy rightly refuses it as an inline ``<script>`` (checked
below).

By keyboard alone: the skip link leads into the content; from the overview, Tab reaches a
domain's dashboard link and Enter opens it; there, Tab reaches the theme switch (Enter
switches) and the period selector; every element focused on the way shows its focus.
"""

from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.e2e.pages import AXE, DemoSite, Tab, Tabs, page_path

# The tests only read the module's demo tenant (``demo_site``); the mark has the test
# database created, and each test's own transaction is rolled back, leaving the data.
pytestmark = pytest.mark.django_db
expect.set_options(timeout=15_000)

WIDTH = 1024
# The focused element, and whether it shows it: an outline or a box shadow.
FOCUSED = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
  const shadow = !!s.boxShadow && s.boxShadow !== "none";
  const r = el.getBoundingClientRect();
  return {
    name: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
      ` "${(el.getAttribute("aria-label") || el.textContent || "").trim().slice(0, 40)}"`,
    href: el.getAttribute("href") || "",
    shown: outline || shadow,
    onScreen: r.width > 1 && r.height > 1,
    inMain: !!el.closest("main"),
    period: !!el.closest("[aria-label='Period'], [aria-label='Last days'], #from, #to"),
  };
}
"""


def test_axe_as_an_inline_script_tag_is_refused_by_the_policy(
    demo_site: DemoSite, tabs: Tabs
) -> None:
    tab = tabs.new("light", WIDTH)
    tab.visit(demo_site.url + page_path(demo_site, "tenant_home"))

    with pytest.raises(PlaywrightError, match="violates the following Content Security Policy"):
        tab.page.add_script_tag(path=AXE)

    assert tab.page.evaluate("typeof window.axe") == "undefined"
    assert any(r.startswith("script-src") for r in tab.refused), tab.refused
    tab.context.close()


def _tab_until(page: Page, wanted: str, *, limit: int = 80) -> dict[str, Any]:
    """Press Tab until the focused element has ``wanted`` true; each one on the way must
    show its focus."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        seen.append(focused["name"])
        assert focused["shown"], f"focus not visible on {focused['name']} ({page.url})"
        if focused[wanted]:
            return focused
    raise AssertionError(f"Tab never reached {wanted} on {page.url}; focused: {seen}")


def _keyboard_tab(tabs: Tabs) -> Tab:
    return tabs.new("light", WIDTH)


def test_the_skip_link_leads_into_the_content(demo_site: DemoSite, tabs: Tabs) -> None:
    tab = _keyboard_tab(tabs)
    tab.visit(demo_site.url + page_path(demo_site, "tenant_home"))

    tab.page.keyboard.press("Tab")
    skip = tab.page.evaluate(FOCUSED)
    assert skip is not None and skip["href"] == "#main", skip
    assert skip["shown"] and skip["onScreen"], f"the skip link is not shown when focused: {skip}"
    expect(tab.page.locator("a[href='#main']")).to_be_in_viewport()
    tab.page.keyboard.press("Enter")
    tab.page.keyboard.press("Tab")

    after = tab.page.evaluate(FOCUSED)
    assert after is not None and after["inMain"], f"Tab after the skip link went to {after}"
    tab.context.close()


def test_from_the_overview_to_a_dashboard_and_its_controls_by_keyboard(
    demo_site: DemoSite, tabs: Tabs
) -> None:
    tab = _keyboard_tab(tabs)
    tab.visit(demo_site.url + page_path(demo_site, "tenant_home"))
    page = tab.page

    for _ in range(120):  # to the first link to a domain's dashboard
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        assert focused["shown"], f"focus not visible on {focused['name']}"
        if "/dashboard" in focused["href"]:
            break
    else:
        raise AssertionError("Tab never reached a link to a domain's dashboard")
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/**")
    assert tab.errors == [], tab.errors

    switch = _tab_until_id(page, "theme-switch")
    assert switch["shown"]
    themes = []
    for _ in range(3):  # auto, light, dark in some order: dark within three presses
        page.keyboard.press("Enter")
        themes.append(page.evaluate("document.documentElement.dataset.bsTheme"))
    assert "dark" in themes, f"the theme switch by keyboard gave {themes}"
    _tab_until(page, "period")
    assert tab.refused == [], tab.refused
    tab.context.close()


def _tab_until_id(page: Page, element_id: str) -> dict[str, Any]:
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        assert focused["shown"], f"focus not visible on {focused['name']}"
        if page.evaluate("document.activeElement.id") == element_id:
            return focused
    raise AssertionError(f"Tab never reached #{element_id} on {page.url}")
