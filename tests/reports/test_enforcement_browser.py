"""The enforcement loop seen in a real browser: after the product's rollback, the dashboard
chart marks each policy change with its tooltip, and the hosting page says the loop is
paused and why the ramp starts short, under the enforced Content-Security-Policy."""

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import Browser, expect

from domains.hosting.automatic import hosted_policy_promote, hosted_policy_rollback
from reports.enforcement.loop import enforcement_decide
from tests.e2e.conftest import Screenshot, browser, csp_violations, live, screenshot
from tests.factories import PASSWORD, make_domain, make_tenant
from tests.reports.test_enforcement_loop import (
    HOSTING,
    LOOP_ON,
    backdate,
    clean_days,
    policy,
    put,
    spike,
)

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=10_000)
__all__ = ["browser", "csp_violations", "live", "screenshot"]  # fixtures, used by name

MARKS = """() => {
  const chart = Chart.getChart(document.getElementById('daily-chart'));
  const set = chart.data.datasets.find((d) => d.label === 'MTA-STS policy changed');
  const label = chart.options.plugins.tooltip.callbacks.label;
  return set.data.flatMap((v, i) => (v === null ? [] : label({dataset: set, dataIndex: i})));
}"""


def test_the_chart_marks_the_products_changes_and_the_page_says_paused(
    browser: Browser, live: str, screenshot: Screenshot, csp_violations: list[str]
) -> None:
    tenant = make_tenant("acme")
    domain = make_domain(tenant, "karlsen.fr", mx_hosts=["mx.domeneshop.no"])
    put(domain, HOSTING | LOOP_ON)
    backdate(domain, 15)
    now = timezone.now()
    clean_days(tenant, now)
    # The loop's decisions and changes (the e-mails, queued by the beat task, are the
    # worker test's).
    with scope(tenant=tenant):
        decision = enforcement_decide(policy(domain), now)
        assert decision.action == "promote"
        hosted_policy_promote(
            domain=domain, expected_id=policy(domain).policy_id, max_age=86400,
            reason=decision.reason,
        )  # fmt: skip
    backdate(domain, 1)
    spike(tenant, now)
    with scope(tenant=tenant):
        decision = enforcement_decide(policy(domain), now)
        assert decision.action == "rollback"
        hosted_policy_rollback(
            domain=domain, expected_id=policy(domain).policy_id, reason=decision.reason
        )

    page = browser.new_page()
    page.goto(live + "/accounts/login/")
    page.get_by_label("Email").fill("owner@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live}/t/acme/domains/{domain.pk}/dashboard/")
    expect(page.locator("#policy-changes li[data-source='auto']")).to_have_count(2)
    tooltips = " ".join(str(t) for t in page.evaluate(MARKS))
    assert "(enforce, max_age 86400) by the product" in tooltips
    assert "(testing, max_age 86400) by the product" in tooltips
    screenshot(page, "enforcement-dashboard-markers")

    page.goto(f"{live}/t/acme/domains/{domain.pk}/mta-sts")
    expect(page.locator("#loop-paused")).to_contain_text("Paused after a rollback")
    expect(page.locator("#loop")).to_contain_text("Senders keep a cached policy")
    expect(page.get_by_role("button", name="Save (re-enable promotion)")).to_be_visible()
    screenshot(page, "enforcement-paused")
    assert csp_violations == []
