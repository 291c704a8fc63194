"""The colour theme switch (static/js/theme.js) in Chromium.

The navbar's button cycles auto -> light -> dark, sets <html data-bs-theme>, keeps the
choice in localStorage across reloads and pages, dispatches "themechange" for the charts,
and in auto follows the system's prefers-color-scheme. Works by keyboard.
"""

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Screenshot

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=10_000)


def theme(page: Page) -> str | None:
    return page.evaluate("document.documentElement.getAttribute('data-bs-theme')")


def count_themechanges(page: Page) -> None:
    page.evaluate(
        "window.__themechanges = [];"
        "document.addEventListener('themechange', (e) => window.__themechanges.push("
        "document.documentElement.getAttribute('data-bs-theme')))"
    )


def test_the_switch_cycles_the_theme_announces_it_and_keeps_it(
    browser: Browser, live: str, screenshot: Screenshot
) -> None:
    context = browser.new_context(color_scheme="light", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(f"{live}/accounts/login/")
    switch = page.locator("#theme-switch")
    expect(switch).to_contain_text("Auto")
    assert theme(page) == "light"  # auto, and the system is light
    count_themechanges(page)

    switch.click()  # -> light
    expect(switch).to_contain_text("Light")
    expect(switch).to_have_attribute("aria-label", "Colour theme: Light. Switch to Dark")
    switch.click()  # -> dark
    expect(switch).to_contain_text("Dark")
    assert theme(page) == "dark"
    assert page.evaluate("window.__themechanges") == ["light", "dark"]
    screenshot(page, "theme-login-dark-1440")

    page.reload()
    assert theme(page) == "dark"
    expect(page.locator("#theme-switch")).to_contain_text("Dark")
    page.goto(f"{live}/accounts/signup/")
    assert theme(page) == "dark"

    # By keyboard: focus the switch and press Enter, back to auto (light system).
    count_themechanges(page)
    page.locator("#theme-switch").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#theme-switch")).to_contain_text("Auto")
    assert theme(page) == "light"
    assert page.evaluate("window.__themechanges") == ["light"]
    assert page.evaluate("localStorage.getItem('theme')") == "auto"
    context.close()


def test_auto_follows_the_system_colour_scheme(browser: Browser, live: str) -> None:
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    page.goto(f"{live}/accounts/login/")
    assert theme(page) == "dark"
    expect(page.locator("#theme-switch")).to_contain_text("Auto")
    # The dark surface really is dark: the token reached the page.
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(14, 16, 20)"

    count_themechanges(page)
    page.emulate_media(color_scheme="light")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")
    assert page.evaluate("window.__themechanges") == ["light"]

    # A fixed choice does not follow the system.
    page.locator("#theme-switch").click()  # -> light
    page.emulate_media(color_scheme="dark")
    assert theme(page) == "light"
    context.close()


def test_the_theme_is_set_before_the_first_paint(browser: Browser, live: str) -> None:
    """theme.js runs in <head> before the stylesheet: the first frame is already dark."""
    context = browser.new_context(color_scheme="light")
    context.add_init_script("localStorage.setItem('theme', 'dark')")
    page = context.new_page()
    page.goto(f"{live}/accounts/login/", wait_until="commit")
    page.wait_for_selector("body")
    assert theme(page) == "dark"
    context.close()
