"""A new person, in a real browser: sign up, verify, add and verify a domain, invite.

Runs against the live server with the loopback DNS server; emails are read from the
test outbox. A screenshot of each main page is saved under var/test-artifacts/.
"""

import re

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from accounts.models import Membership, Role
from tests.dnsserver import ZoneResolver
from tests.e2e.conftest import Screenshot
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
# Every wait is for something the page will show; ten seconds means it is not coming.
expect.set_options(timeout=10_000)


def link_for(email: str, path: str) -> str:
    for message in reversed(mail.outbox):
        if email in message.to:
            found = re.search(rf"https?://\S+({re.escape(path)}\S*)", str(message.body))
            if found:
                return found.group(1)
    raise AssertionError(f"no email to {email} with a {path} link")


def sign_up(page: Page, base: str, email: str, team: str = "") -> None:
    page.goto(base + "/accounts/signup/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    if team:
        page.get_by_label("Team or company name").fill(team)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()


def confirm_email(page: Page, base: str, email: str) -> None:
    page.goto(base + link_for(email, "/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()


def test_from_nothing_to_a_verified_domain_and_a_second_member(
    browser: Browser, live: str, dns: ZoneResolver, screenshot: Screenshot
) -> None:
    base = live
    page = browser.new_page()
    page.goto(base)
    screenshot(page, "01-home")

    sign_up(page, base, "ana@example.com", team="Example Ltd")
    screenshot(page, "02-verify-email")
    confirm_email(page, base, "ana@example.com")
    expect(page.get_by_role("heading", name="Getting started")).to_be_visible()
    screenshot(page, "03-tenant-onboarding")

    page.get_by_role("link", name="Add your first domain").click()
    page.get_by_role("textbox", name="Domain").fill("Example.ORG")
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_role("heading", name="example.org")).to_be_visible()
    token = page.locator("#verify-value").inner_text()
    record = page.locator("#tlsrpt-value").inner_text()
    assert page.locator("#verify-name").inner_text() == "_tlsrpt-verify.example.org"
    assert re.fullmatch(r"v=TLSRPTv1; rua=mailto:[a-z2-7]{20}@reports\.localhost", record)
    expect(page.locator("[data-state=pending]")).to_be_visible()
    screenshot(page, "04-domain-records")

    dns.add_txt("_tlsrpt-verify.example.org", token)
    dns.add_txt("_smtp._tls.example.org", record)
    page.get_by_role("button", name="Check now").click()
    expect(page.locator("#domain-status [data-state=verified]")).to_be_visible()
    screenshot(page, "05-domain-verified")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Domains").click()
    expect(
        page.locator("#domains tr[data-domain='example.org'] [data-state=verified]")
    ).to_be_visible()
    screenshot(page, "06-domain-list")

    page.get_by_role("button", name="Manage").click()
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Email").fill("bob@example.com")
    page.get_by_label("Role").select_option("member")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to bob@example.com")).to_be_visible()
    screenshot(page, "07-members")
    page.get_by_role("button", name="Manage").click()
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    screenshot(page, "08-settings")
    page.get_by_role("button", name="Manage").click()
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("tr[data-action='domain.verified']")).to_be_visible()
    screenshot(page, "09-audit-log")

    bob = browser.new_context().new_page()
    bob.goto(base + link_for("bob@example.com", "/invite/"))
    expect(bob.get_by_role("heading", name="Join Example Ltd")).to_be_visible()
    bob.locator("#main").get_by_role("link", name="Sign up").click()
    sign_up(bob, base, "bob@example.com")
    confirm_email(bob, base, "bob@example.com")
    bob.get_by_role("button", name="Accept and join").click()
    expect(bob.get_by_text("You joined Example Ltd.")).to_be_visible()
    expect(bob.locator("#domain-cards article[data-domain='example.org']")).to_be_visible()
    screenshot(bob, "10-invited-member-home")

    bob.get_by_role("button", name="bob@example.com").click()
    bob.get_by_role("link", name="Log out").click()
    bob.get_by_role("button", name="Log out").click()
    bob.goto(base + "/accounts/login/")
    bob.get_by_label("Email").fill("bob@example.com")
    bob.get_by_label("Password").fill(PASSWORD)
    bob.get_by_role("button", name="Log in").click()
    expect(bob.get_by_role("heading", name="Example Ltd")).to_be_visible()
    membership = Membership.objects.get(user__email="bob@example.com")
    assert (membership.tenant.name, membership.role) == ("Example Ltd", Role.MEMBER)
