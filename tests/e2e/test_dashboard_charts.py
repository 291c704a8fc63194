"""The domain dashboard's chart, heatmap and grid in Chromium, on two months of reports.

The chart is read from its Chart.js instance: a time axis, integer session ticks, gaps where
nobody reported, marks with their text, no legend entry struck through, the log switch (by
keyboard) and its memory, the theme's colours. Screenshots at three widths, both themes.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, expect

from accounts.models import Tenant
from tests.e2e.conftest import ARTIFACTS, Screenshot
from tests.factories import make_tenant, owner_of
from tests.reports import dashboard_data
from tests.reports.dashboard_data import GAP_DAYS

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=10_000)

CHART = "Chart.getChart(document.getElementById('daily-chart'))"


def signed_in(browser: Browser, live: str, tenant: Tenant, **options: object) -> BrowserContext:
    client = Client()
    client.force_login(owner_of(tenant))
    context = browser.new_context(**options)  # type: ignore[arg-type]
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live}])
    return context


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def wide_elements(page: Page) -> list[str]:
    """What reaches past the window's right edge (to say why there is a scroll)."""
    return page.evaluate("""() => [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .filter((e) => {
        for (let a = e.parentElement; a; a = a.parentElement) {
          if (getComputedStyle(a).overflowX !== "visible") return false;
        }
        return true;
      })
      .slice(0, 8).map((e) => `${e.tagName}#${e.id}.${e.className}`)""")


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def built(transactional_db: None) -> tuple[Tenant, dashboard_data.Built]:
    tenant = make_tenant("acme", owner="ana@example.com")
    return tenant, dashboard_data.build(tenant)


def test_the_chart_is_on_a_time_axis_with_gaps_marks_a_log_switch_and_weeks(
    browser: Browser, live: str, built: tuple[Tenant, dashboard_data.Built]
) -> None:
    tenant, data = built
    context = signed_in(browser, live, tenant, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    url = f"{live}/t/acme/domains/{data.domain.pk}/dashboard/"
    page.goto(f"{url}?from={data.first}&to={data.last}")
    expect(page.locator("#daily-chart")).to_be_visible()

    chart = page.evaluate(f"""() => {{
      const c = {CHART};
      return {{
        x: c.scales.x.type, unit: c.options.scales.x.time.unit, y: c.scales.y.type,
        ticks: c.scales.y.ticks.map((t) => t.value),
        labels: c.data.datasets.map((d) => d.label),
        hidden: c.legend.legendItems.filter((i) => i.hidden).map((i) => i.text),
        rate: c.data.datasets.find((d) => d.label.startsWith("Success rate")),
        days: c.data.labels,
        marks: c.data.datasets.filter((d) => d.texts).map((d) => d.texts.filter(Boolean).flat()),
      }};
    }}""")
    assert (chart["x"], chart["unit"], chart["y"]) == ("time", "day", "linear")
    assert chart["ticks"] and all(float(t).is_integer() for t in chart["ticks"])
    assert chart["labels"] == [
        "Successful sessions", "Failed sessions", "Success rate (%)",
        "DNS check changed", "MTA-STS policy changed", "MX TLS probe changed",
    ]  # fmt: skip
    assert chart["hidden"] == []  # no legend entry struck through
    gap = chart["days"].index(GAP_DAYS[0].isoformat())
    assert chart["rate"]["spanGaps"] is False and chart["rate"]["data"][gap] is None
    texts = " ".join(" ".join(m) for m in chart["marks"])
    assert "MTA-STS: ok → error — The MTA-STS policy could not be fetched" in texts
    assert "MTA-STS policy 20261101 (enforce, max_age 604800) by ana@example.com" in texts
    assert "mx2.example.net: the certificate expired" in texts

    # The log switch, by keyboard; it is remembered on the next visit.
    switch = page.get_by_role("switch", name="Logarithmic scale")
    switch.focus()
    page.keyboard.press("Space")
    expect(switch).to_be_checked()
    assert page.evaluate(f"() => {CHART}.scales.y.type") == "logarithmic"
    stacked = page.evaluate(f"() => {CHART}.options.scales.y.stacked")
    assert stacked is False  # side by side: a zero never breaks a stack on a log scale
    page.reload()
    assert page.evaluate(f"() => {CHART}.scales.y.type") == "logarithmic"
    page.get_by_role("switch", name="Logarithmic scale").uncheck()
    assert page.evaluate(f"() => {CHART}.scales.y.type") == "linear"

    # The theme switch redraws the chart in the other theme's colours.
    before = page.evaluate(f"() => {CHART}.data.datasets[1].backgroundColor")
    theme = page.evaluate("() => document.documentElement.dataset.bsTheme")
    while page.evaluate("() => document.documentElement.dataset.bsTheme") == theme:
        page.locator("#theme-switch").click()
    assert page.evaluate(f"() => {CHART}.data.datasets[1].backgroundColor") != before

    # Two years: weeks, said on the axis, and bars that stay visible.
    page.set_viewport_size({"width": 1024, "height": 900})
    start = data.last - timedelta(days=729)
    page.goto(f"{live}/t/acme/domains/{data.domain.pk}/dashboard/?from={start}&to={data.last}")
    expect(page.locator("#chart-step")).to_contain_text("week")
    found = page.evaluate(f"""() => {{
      const c = {CHART};
      const bars = c.getDatasetMeta(0).data.filter((b) => b.height > 0);
      return {{
        unit: c.options.scales.x.time.unit, title: c.options.scales.x.title.text,
        points: c.data.labels.length, widths: bars.map((b) => b.width),
      }};
    }}""")
    assert (found["unit"], found["title"]) == ("week", "Week starting (Monday)")
    assert found["points"] <= 120
    assert found["widths"] and min(found["widths"]) >= 4  # bars stay visible
    assert page.locator("#mx-heatmap th.heat-col").count() == found["points"]
    assert errors == []


def test_the_dashboard_fits_every_width_in_both_themes(
    browser: Browser, live: str, built: tuple[Tenant, dashboard_data.Built], screenshot: Screenshot
) -> None:
    tenant, data = built
    period = f"from={data.first}&to={data.last}"
    for scheme, width in [(s, w) for s in ("light", "dark") for w in (360, 1024, 1440)]:
        context = signed_in(
            browser, live, tenant, viewport={"width": width, "height": 900}, color_scheme=scheme
        )
        page = context.new_page()
        errors = watch_errors(page)
        page.goto(f"{live}/t/acme/domains/{data.domain.pk}/dashboard/?{period}")
        expect(page.locator("#mx-heatmap")).to_be_visible()
        assert page.evaluate("() => document.documentElement.dataset.bsTheme") == scheme
        assert page.evaluate(f"() => !!{CHART}")
        screenshot(page, f"dashboard-{width}-{scheme}")
        for part in ("totals", "chart-title", "mx-heatmap-panel", "reporter-grid-panel"):
            shot = ARTIFACTS / f"dashboard-{width}-{scheme}-{part}.png"
            page.locator(f"#{part}").locator(
                "xpath=ancestor-or-self::*[self::section or @id='totals'][1]"
            ).screenshot(path=str(shot))
        assert no_horizontal_scroll(page), (width, wide_elements(page))
        assert errors == []
        context.close()
