"""The sender's address through the real chain: client, Caddy (docker/Caddyfile), gunicorn.

The client connects from 127.0.0.5 and forges an X-Forwarded-For; gunicorn sees only
Caddy (127.0.0.1, its trusted proxy). The audit log of a sign-in records 127.0.0.5.
"""

import http.client
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django_scopes import scopes_disabled

from accounts.models import AuditEvent, User
from tests.factories import PASSWORD, make_tenant
from tests.servers_web import Listener

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT = "127.0.0.5"


def sign_in_from(server: Listener, source: str, email: str, forged_for: str) -> int:
    """Sign in through ``server`` from the loopback address ``source``: the status."""
    csrf = "a" * 32  # a CSRF secret of our own making, sent as cookie and form field
    body = urlencode({"csrfmiddlewaretoken": csrf, "login": email, "password": PASSWORD})
    connection = http.client.HTTPConnection(
        server.host, server.port, timeout=30, source_address=(source, 0)
    )
    connection.request(
        "POST", "/accounts/login/", body,
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}",
         "X-Forwarded-For": forged_for},
    )  # fmt: skip
    status = connection.getresponse().status
    connection.close()
    return status


def test_through_caddy_the_audit_log_records_the_client_not_the_proxy_or_a_forgery(
    caddy_in_front: Listener,
) -> None:
    tenant = make_tenant("acme", owner="real@example.com")
    # gunicorn checks passwords with Django's default hashers, not the suite's fast one.
    User.objects.filter(email="real@example.com").update(
        password=PBKDF2PasswordHasher().encode(PASSWORD, "saltsaltsalt", iterations=1000)
    )

    status = sign_in_from(caddy_in_front, CLIENT, "real@example.com", forged_for="203.0.113.9")

    assert status == 302
    with scopes_disabled():
        event = AuditEvent.objects.get(tenant=tenant, action="account.signed_in")
    assert event.ip_address == CLIENT
