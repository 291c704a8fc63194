"""Accounts through allauth: sign-up, verification, login, rate limits, MFA, re-auth."""

import base64
import hashlib
import hmac
import re
import struct
import time
from urllib.parse import urlparse

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from accounts.models import AuditEvent, Membership, Role, Tenant, User
from tests.factories import PASSWORD, make_tenant, owner_of
from tests.web import fresh_client, login

pytestmark = pytest.mark.django_db


def link_in(message: mail.EmailMessage, pattern: str) -> str:
    found = re.search(rf"https?://\S+{pattern}\S*", str(message.body))
    assert found, message.body
    return urlparse(found.group(0)).path


def sign_up(client: Client, email: str, team: str = "") -> None:
    response = client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD, "team": team},
    )
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == reverse("account_email_verification_sent")


def test_sign_up_needs_the_email_verified_then_lands_on_the_new_tenant() -> None:
    client = fresh_client()
    sign_up(client, "ana@example.com", team="Example Ltd")

    user = User.objects.get(email="ana@example.com")
    membership = Membership.objects.select_related("tenant").get(user=user)
    assert (membership.role, membership.tenant.name) == (Role.OWNER, "Example Ltd")
    home = reverse("tenant_home", args=[membership.tenant.slug])
    assert client.get(home).status_code == 302  # not logged in before verifying

    confirm = link_in(mail.outbox[-1], "/accounts/confirm-email/")
    assert client.get(confirm).status_code == 200
    response = client.post(confirm, follow=True)

    assert response.redirect_chain[-1][0] == home
    assert b"Getting started" in response.content


def test_login_before_verifying_is_refused_until_the_email_is_confirmed() -> None:
    client = fresh_client()
    sign_up(client, "ben@example.com")
    response = client.post(
        reverse("account_login"), {"login": "ben@example.com", "password": PASSWORD}
    )
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not client.session.get("_auth_user_id")


def test_signing_up_without_a_team_name_names_the_tenant_after_the_mail_domain() -> None:
    sign_up(fresh_client(), "cy@mail.example.net")
    assert Tenant.objects.get().name == "mail.example.net"


def test_responses_do_not_tell_whether_an_email_has_an_account() -> None:
    make_tenant("acme", owner="known@example.com")
    client = fresh_client()

    sign_up(client, "known@example.com")  # same redirect as for a new address
    known = client.post(reverse("account_reset_password"), {"email": "known@example.com"})
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert User.objects.filter(email="known@example.com").count() == 1


def test_the_eleventh_failed_login_in_a_minute_from_one_address_is_refused() -> None:
    make_tenant("acme", owner="real@example.com")
    client = fresh_client()
    refused = b"Too many failed login attempts"
    for i in range(10):
        response = client.post(
            reverse("account_login"),
            {"login": f"guess{i}@example.com", "password": "wrong password"},
        )
        assert response.status_code == 200 and refused not in response.content

    # The 11th is refused, even with the right password, and nobody is logged in.
    response = client.post(
        reverse("account_login"), {"login": "real@example.com", "password": PASSWORD}
    )
    assert refused in response.content
    assert not client.session.get("_auth_user_id")
    # Another address is not affected.
    other = fresh_client()
    response = other.post(
        reverse("account_login"), {"login": "real@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302 and other.session.get("_auth_user_id")


def test_login_works_and_is_recorded_in_each_tenants_audit_log() -> None:
    tenant = make_tenant("acme", owner="real@example.com")
    client = fresh_client()
    response = client.post(
        reverse("account_login"), {"login": "real@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    with scopes_disabled():
        event = AuditEvent.objects.get(tenant=tenant, action="account.signed_in")
    assert event.actor_email == "real@example.com"
    assert event.ip_address == client.defaults["REMOTE_ADDR"]


def test_the_admin_login_goes_through_allauth() -> None:
    response = fresh_client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def totp(secret: str, at: float | None = None) -> str:
    """RFC 6238 with SHA-1, 30 s steps and 6 digits, as authenticator apps compute it."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int((at or time.time()) // 30)), hashlib.sha1)
    offset = digest.digest()[-1] & 0x0F
    value = struct.unpack(">I", digest.digest()[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def test_two_factor_login_with_totp_and_a_recovery_code() -> None:
    tenant = make_tenant("acme", owner="mfa@example.com")
    user = owner_of(tenant)
    client = fresh_client()
    login(client, user)

    page = client.get(reverse("mfa_activate_totp"))
    secret = page.context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": totp(secret)})
    assert response.status_code == 302
    codes = client.get(reverse("mfa_view_recovery_codes")).context["unused_codes"]
    assert len(codes) >= 10
    client.logout()

    response = client.post(
        reverse("account_login"), {"login": "mfa@example.com", "password": PASSWORD}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and not client.session.get("_auth_user_id")
    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(user.pk)


def test_deleting_a_tenant_asks_for_the_password_again() -> None:
    tenant = make_tenant("acme")
    client = fresh_client()
    login(client, owner_of(tenant), reauthenticated_ago=None)
    delete = reverse("tenant_delete", args=["acme"])

    response = client.post(delete, {"confirm": "acme"})

    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert Tenant.objects.filter(slug="acme").exists()
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    response = client.post(delete, {"confirm": "acme"})
    assert response["Location"] == reverse("home")
    assert not Tenant.objects.filter(slug="acme").exists()
