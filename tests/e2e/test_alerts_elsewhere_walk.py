"""Issue 16 walked as a newcomer would, in Chromium under the enforced CSP: an admin adds
a Slack webhook from the Manage menu and sees its secret once, opens its delivery log, and
sends a test report from a domain's page, whose progress page follows it."""

import pytest
from django.db import connections
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Screenshot
from tests.factories import PASSWORD, make_domain, make_tenant, owner_of

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=10_000)


def test_a_slack_webhook_and_a_self_test_from_the_pages(
    browser: Browser, live: str, screenshot: Screenshot, csp_violations: list[str]
) -> None:
    acme = make_tenant("acme")
    domain = make_domain(acme, "example.org")
    email = owner_of(acme).email
    connections.close_all()
    page = browser.new_page()
    page.goto(f"{live}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live}/t/acme/")

    page.locator("#manage-menu").click()
    page.locator("[aria-labelledby='manage-menu']").get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Add a webhook").click()
    page.get_by_label("URL").fill("https://hooks.slack.com/services/T000/B000/XXXX")
    page.get_by_label("Kind").select_option("slack")
    page.get_by_label("alert.opened", exact=False).check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Webhook added")).to_be_visible()
    expect(page.get_by_text("whsec_", exact=False).first).to_be_visible()
    screenshot(page, "webhook-secret-once")

    page.goto(f"{live}/t/acme/webhooks/")
    expect(page.get_by_text("hooks.slack.com", exact=False).first).to_be_visible()
    page.get_by_text("hooks.slack.com", exact=False).first.click()
    expect(page.get_by_text("hooks.slack.com", exact=False).first).to_be_visible()
    screenshot(page, "webhook-delivery-log")

    page.goto(f"{live}/t/acme/domains/{domain.pk}/")
    page.locator("#self-test-send").click()
    expect(page.get_by_role("heading", name="Self-test of example.org")).to_be_visible()
    expect(page.get_by_text("Sent through the SMTP door")).to_be_visible()
    screenshot(page, "self-test-progress")
    assert csp_violations == []
