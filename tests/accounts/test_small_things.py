"""Small things from issue 18: e-mails signed with the product and SITE_URL, one wording
for logging out, no Leave button the last owner cannot use, the tenant's navigation kept
on the account pages."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Role, Tenant
from tests.accounts.test_auth import sign_up
from tests.factories import make_member
from tests.web import fresh_client, login

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_account_emails_greet_with_the_product_and_site_url_not_the_request_host(
    settings,
) -> None:
    settings.SITE_URL = "https://tlsrpt.example.net"
    sign_up(fresh_client(), "ana@example.com")

    body = str(mail.outbox[-1].body)
    assert "127.0.0.1" not in body
    assert "Hello from" not in body
    assert "TLS-RPT" in body
    assert "https://tlsrpt.example.net" in body
    assert "register an account on tlsrpt.example.net" in body
    assert mail.outbox[-1].subject.startswith("[TLS-RPT] ")


def test_no_template_says_sign_out() -> None:
    said = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*")
        if path.is_file() and "sign out" in path.read_text(errors="replace").lower()
    ]
    assert said == []


def test_logging_out_says_log_out(owner: Client) -> None:
    page = owner.get(reverse("account_logout")).content.decode()
    assert "Log out" in page
    assert "Sign Out" not in page and "sign out" not in page.lower()
    response = owner.post(reverse("account_logout"), follow=True)
    assert "You have logged out." in response.content.decode()


@pytest.mark.parametrize(("url", "words"), [
    ("account_login", ("Log in", "sign up")), ("account_signup", ("Sign up", "log in")),
])  # fmt: skip
def test_the_entrance_pages_say_log_in_and_sign_up(client: Client, url: str, words) -> None:
    page = client.get(reverse(url)).content.decode()
    for word in words:
        assert word in page
    assert "Sign In" not in page and "sign in" not in page.lower().replace("sign in with", "")
    assert "Sign Up" not in page and "Signup" not in page


def test_the_only_owner_sees_why_they_cannot_leave_not_a_leave_button(
    acme: Tenant, owner: Client
) -> None:
    make_member(acme, Role.ADMIN)
    page = owner.get(reverse("members", args=["acme"])).content.decode()
    assert reverse("tenant_leave", args=["acme"]) not in page
    assert "You are the only owner: transfer ownership" in page
    assert reverse("tenant_delete", args=["acme"]) in page


def test_an_owner_beside_another_owner_and_a_member_see_the_leave_button(acme: Tenant) -> None:
    second = make_member(acme, Role.OWNER, "second@acme.test")
    member = make_member(acme, Role.MEMBER)
    for membership in (second, member):
        client = fresh_client()
        login(client, membership.user)
        page = client.get(reverse("members", args=["acme"])).content.decode()
        assert reverse("tenant_leave", args=["acme"]) in page
        assert "You are the only owner" not in page


def test_account_pages_keep_the_navigation_of_the_tenant_last_visited(
    acme: Tenant, owner: Client
) -> None:
    before = owner.get(reverse("account_email")).content.decode()
    assert reverse("domain_list", args=["acme"]) not in before

    owner.get(reverse("tenant_home", args=["acme"]))
    after = owner.get(reverse("account_email")).content.decode()
    assert reverse("domain_list", args=["acme"]) in after


def test_a_remembered_tenant_one_is_no_longer_member_of_is_not_shown(acme: Tenant) -> None:
    member = make_member(acme, Role.MEMBER)
    client = fresh_client()
    login(client, member.user)
    client.get(reverse("tenant_home", args=["acme"]))
    member.delete()
    page = client.get(reverse("account_email")).content.decode()
    assert reverse("domain_list", args=["acme"]) not in page
