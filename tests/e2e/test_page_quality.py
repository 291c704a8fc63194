"""Every page, in both themes, on a phone, a laptop and a desktop: nothing sticks out.

Each page of the access table (HTML pages; downloads and partials are listed with the
reason in ``pages.NOT_PAGES``), the account pages and the signed-out ones, on the demo
tenant as its owner: no sideways scroll, no visible element past the right edge (what
scrolls inside ``.table-responsive`` or another overflow container is fine), no console
error, nothing refused by the Content-Security-Policy; and the one layout: the main
navigation, one page title, breadcrumbs (``LAYOUT``); at 1,024 px, no serious or critical
violation of WCAG 2.1 AA that axe-core finds (``pages.RUN_AXE``). A full-page screenshot
of each is kept under ``var/test-artifacts/screenshots/pages/<page>-<theme>-<width>.jpeg``.
"""

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.pages import (
    ALL_PAGES,
    AXE_WIDTH,
    RUN_AXE,
    THEMES,
    WIDTHS,
    DemoSite,
    Tab,
    Tabs,
    page_path,
    signed_in,
)

# The tests only read the module's demo tenant (``demo_site``); the mark has the test
# database created, and each test's own transaction is rolled back, leaving the data.
pytestmark = pytest.mark.django_db
SCREENSHOTS = ARTIFACTS / "pages"

# Visible elements whose box goes past the viewport's right edge (or left of 0), unless
# an ancestor clips or scrolls them.
OFF_SCREEN = """
() => {
  const width = document.documentElement.clientWidth;
  const clips = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (p.classList.contains("table-responsive")) return true;
      const s = getComputedStyle(p);
      if (["auto", "scroll", "hidden", "clip"].includes(s.overflowX)) return true;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    [...el.classList].slice(0, 3).map((c) => "." + c).join("");
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest(".visually-hidden, .visually-hidden-focusable, [hidden], [aria-hidden=true]"))
      continue;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    if (r.right <= width + 1 && r.left >= -1) continue;
    const s = getComputedStyle(el);
    if (s.visibility === "hidden" || s.opacity === "0" || s.position === "fixed") continue;
    if (clips(el)) continue;
    found.push(`${name(el)} [${Math.round(r.left)}..${Math.round(r.right)}]` +
      ` "${(el.textContent || "").trim().slice(0, 40)}"`);
  }
  return found;
}
"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", ALL_PAGES)
def test_the_page_fits_and_loads_cleanly(
    demo_site: DemoSite, tabs: Tabs, page: str, width: int
) -> None:
    """Loaded in the light theme and checked, then checked again once the system has
    turned dark (``Tab.switch``: the page follows live, as a person's would); at
    ``AXE_WIDTH``, axe-core checks each theme too."""
    axe = width == AXE_WIDTH
    tab = tabs.get("light", width, signed_in=signed_in(page), axe=axe)

    tab.visit(demo_site.url + page_path(demo_site, page))
    problems = _layout_problems(tab, page)
    for theme in THEMES:
        if theme != "light":
            tab.switch(theme)
        shot = _screenshot(tab.page, f"{page}-{theme}-{width}")
        problems += [f"{theme} ({shot.name}): {p}" for p in _problems(tab)]
        if axe:
            problems += [f"{theme}: {v}" for v in _accessibility_problems(tab)]
    assert not problems, f"{page} ({width} px):\n" + "\n".join(problems)


# The one layout (issue 18): the main navigation, one page title, and where a signed-in
# page sits (breadcrumbs), except on the landing page and the entrance cards (log in, sign
# up, and the password asked again before two-factor set-up: mfa_activate_totp).
LAYOUT = """
() => {
  const nav = document.querySelector("nav[aria-label='Main']");
  const h1 = [...document.querySelectorAll("h1")];
  return {
    nav: !!nav && nav.getBoundingClientRect().height > 0,
    titles: h1.length,
    titleShown: h1.length > 0 && h1[0].getBoundingClientRect().height > 0,
    crumbs: document.querySelectorAll("nav[aria-label='Breadcrumb'] .breadcrumb-item").length,
    entrance: !!document.querySelector(".entrance-card"),
  };
}
"""


def _layout_problems(tab: Tab, page: str) -> list[str]:
    layout = tab.page.evaluate(LAYOUT)
    problems = []
    if not layout["nav"]:
        problems.append("no main navigation shown")
    if layout["titles"] != 1 or not layout["titleShown"]:
        problems.append(f"{layout['titles']} page titles (h1), not one shown")
    if page != "home" and not layout["entrance"] and not layout["crumbs"]:
        problems.append("no breadcrumbs")
    return problems


def _problems(tab: Tab) -> list[str]:
    problems = []
    scroll_width = tab.page.evaluate("document.documentElement.scrollWidth")
    inner = tab.page.evaluate("innerWidth")
    if scroll_width > inner:
        problems.append(f"scrolls sideways: {scroll_width} px wide in a {inner} px window")
    off = tab.page.evaluate(OFF_SCREEN)
    if off:
        problems.append("off-screen: " + "; ".join(off[:8]) + (" ..." if len(off) > 8 else ""))
    problems += [f"console: {e}" for e in tab.errors]
    problems += [f"CSP refused: {r}" for r in tab.refused]
    tab.errors.clear()  # each theme says its own
    tab.refused.clear()
    return problems


def _accessibility_problems(tab: Tab) -> list[str]:
    """Serious and critical WCAG 2.1 AA violations axe-core finds."""
    return [
        f"axe {v['id']} ({v['impact']}, {v['count']} element(s)): {v['help']}\n"
        f"  {', '.join(v['targets'])}\n  {v['helpUrl']}"
        for v in tab.page.evaluate(RUN_AXE)
    ]


def _screenshot(page: Page, name: str) -> Path:
    """A full-page JPEG: half the time a PNG takes here, and plenty to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.jpeg"
    page.screenshot(path=str(path), full_page=True, type="jpeg", quality=70)
    return path


def test_the_checks_see_a_page_that_sticks_out(demo_site: DemoSite, tabs: Tabs) -> None:
    tab = tabs.get("light", 360)
    tab.visit(demo_site.url + page_path(demo_site, "tenant_home"))

    tab.page.evaluate(
        """() => {
          const wide = document.createElement("div");
          wide.id = "too-wide";
          wide.textContent = "a long unbroken line";
          wide.style.width = "900px";
          document.querySelector("main").append(wide);
          const scrolling = document.createElement("div");
          scrolling.className = "table-responsive";
          scrolling.append(Object.assign(document.createElement("p"), {id: "inside"}));
          scrolling.firstChild.style.width = "900px";
          scrolling.firstChild.textContent = "scrolls inside its container";
          document.querySelector("main").append(scrolling);
        }"""
    )

    off = tab.page.evaluate(OFF_SCREEN)
    assert any(o.startswith("div#too-wide") for o in off), off
    assert not any("#inside" in o for o in off), off
    assert tab.page.evaluate("document.documentElement.scrollWidth") > 360
