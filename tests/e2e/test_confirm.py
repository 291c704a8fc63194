"""Buttons that ask first: the question is data, never code.

A tenant's name is chosen by its admins and shown to every member, inside a confirmation
("Leave <name>?"); a mailbox's name likewise, to the owner who removes it. Written into
an inline ``onclick="confirm('…')"``, HTML escaping did not protect it: the browser
unescapes the attribute before running it as JavaScript. A ``data-confirm`` attribute
read by one listener shows it as text, and the Content-Security-Policy would refuse an
inline handler anyway.
"""

import pytest
from django_scopes import scope
from playwright.sync_api import Browser, Dialog, expect

from accounts.models import Membership, Role
from reports.inbound.secrets import secret_encrypt
from reports.models import MailboxSource
from tests.factories import PASSWORD, make_member, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=10_000)

HOSTILE = "Evil'); window.pwned = 1; ('"


def test_a_hostile_tenant_name_in_a_confirmation_is_shown_not_run(
    browser: Browser, live: str
) -> None:
    tenant = make_tenant("evil")
    tenant.name = HOSTILE
    tenant.save()
    member = make_member(tenant, Role.MEMBER, "mia@example.com")
    page = browser.new_page()
    page.goto(live + "/accounts/login/")
    page.get_by_label("Email").fill("mia@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live}/t/evil/members/")

    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.get_by_role("button", name=f"Leave {HOSTILE}").click()
    expect(page).to_have_url(f"{live}/t/evil/members/")
    assert asked == [f"Leave {HOSTILE}?"]
    assert page.evaluate("window.pwned") is None
    assert Membership.objects.filter(pk=member.pk).exists()  # dismissed: nothing sent

    page.remove_listener("dialog", dismiss)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Leave {HOSTILE}").click()
    expect(page.get_by_text(f"You left {HOSTILE}.")).to_be_visible()
    assert not Membership.objects.filter(pk=member.pk).exists()


MAILBOX = "x');alert(document.cookie);('"


def test_a_hostile_mailbox_name_asks_once_and_runs_nothing(browser: Browser, live: str) -> None:
    tenant = make_tenant("acme", owner="ana@example.com")
    mailbox = MailboxSource.objects.create(
        tenant=tenant,
        name=MAILBOX,
        host="127.0.0.1",
        port=1,
        tls_mode="none",
        username="u",
        password_encrypted=secret_encrypt("p"),
    )
    page = browser.new_page()
    page.goto(live + "/accounts/login/")
    page.get_by_label("Email").fill("ana@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live}/t/acme/mailboxes/")

    dialogs: list[tuple[str, str]] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append((dialog.type, dialog.message))
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.get_by_role("button", name="Remove").click()
    expect(page).to_have_url(f"{live}/t/acme/mailboxes/")
    expect(page.get_by_role("link", name=MAILBOX)).to_be_visible()

    assert dialogs == [("confirm", f"Remove {MAILBOX}? Reports already taken stay.")]
    with scope(tenant=tenant):
        assert MailboxSource.objects.filter(pk=mailbox.pk).exists()
