"""The sender's address behind Caddy: X-Forwarded-For believed from TRUSTED_PROXIES only.

The audit log, allauth's per-address rate limits and the API's throttles read REMOTE_ADDR;
behind a trusted proxy it is the sender's address, from any other peer a forged header
changes nothing.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.request import Request

from accounts.api_auth import KeyRateThrottle
from accounts.models import AuditEvent
from tests.factories import PASSWORD, make_tenant
from tlsrpt_saas.client_address import forwarded_client, trusted_networks

pytestmark = pytest.mark.django_db

PROXY = "10.9.8.7"
SENDER = "203.0.113.7"
REFUSED = b"Too many failed login attempts"


@pytest.fixture
def behind_proxy(settings) -> None:
    settings.TRUSTED_PROXIES = [PROXY]


def sign_in(client: Client, forwarded_for: str, login: str = "real@example.com") -> bytes:
    """Sign in as ``login``: the real person's password, a wrong one for anyone else."""
    password = PASSWORD if login == "real@example.com" else "wrong password"
    response = client.post(
        reverse("account_login"),
        {"login": login, "password": password},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return response.content


def signed_in_from() -> str | None:
    with scopes_disabled():
        return AuditEvent.objects.get(action="account.signed_in").ip_address


def test_behind_a_trusted_proxy_the_audit_log_records_the_forwarded_sender(
    behind_proxy: None,
) -> None:
    make_tenant("acme", owner="real@example.com")

    sign_in(Client(REMOTE_ADDR=PROXY), SENDER)

    assert signed_in_from() == SENDER


def test_from_an_untrusted_peer_a_forged_forwarded_for_is_ignored(behind_proxy: None) -> None:
    make_tenant("acme", owner="real@example.com")

    sign_in(Client(REMOTE_ADDR="198.51.100.9"), SENDER)

    assert signed_in_from() == "198.51.100.9"


def test_with_no_trusted_proxy_the_header_is_ignored_even_from_the_proxy() -> None:
    make_tenant("acme", owner="real@example.com")

    sign_in(Client(REMOTE_ADDR=PROXY), SENDER)

    assert signed_in_from() == PROXY


def test_login_rate_limits_count_per_sender_behind_the_proxy(behind_proxy: None) -> None:
    make_tenant("acme", owner="real@example.com")
    through_proxy = Client(REMOTE_ADDR=PROXY)
    for n in range(10):
        assert REFUSED not in sign_in(through_proxy, SENDER, f"guess{n}@example.com")

    assert REFUSED in sign_in(through_proxy, SENDER)
    # Another sender through the same proxy is not refused.
    assert REFUSED not in sign_in(through_proxy, "198.51.100.20")


def test_a_sender_cannot_dodge_the_limit_by_forging_addresses_left_of_the_proxys(
    behind_proxy: None,
) -> None:
    make_tenant("acme", owner="real@example.com")
    through_proxy = Client(REMOTE_ADDR=PROXY)
    for n in range(10):
        forged = f"192.0.2.{n}, {SENDER}"  # the proxy appends what it saw
        assert REFUSED not in sign_in(through_proxy, forged, f"guess{n}@example.com")

    assert REFUSED in sign_in(through_proxy, f"192.0.2.99, {SENDER}")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        (PROXY, SENDER, SENDER),
        (PROXY, f"198.51.100.1, {SENDER}", SENDER),  # the left one is the client's word
        (PROXY, f"{SENDER}, 10.0.0.2", SENDER),  # through two proxies of ours
        (PROXY, " 2001:db8::1 ", "2001:db8::1"),
        (PROXY, "", PROXY),  # nothing forwarded
        (PROXY, "10.0.0.2", "10.0.0.2"),  # only ours: the farthest one
        (PROXY, "not-an-address", PROXY),
        ("198.51.100.9", SENDER, "198.51.100.9"),  # not a proxy of ours
    ],
)
def test_the_client_is_the_right_most_hop_that_is_not_a_trusted_proxy(
    peer: str, forwarded_for: str, client: str
) -> None:
    trusted = trusted_networks([PROXY, "10.0.0.0/24"])

    assert forwarded_client(peer, forwarded_for, trusted) == client


def test_a_malformed_trusted_proxy_stops_the_app() -> None:
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        trusted_networks(["10.0.0.0/33"])


def test_api_throttles_identify_a_client_by_its_address_not_its_own_header() -> None:
    request = Request(RequestFactory().get("/", REMOTE_ADDR=SENDER, HTTP_X_FORWARDED_FOR="1.2.3.4"))

    assert KeyRateThrottle().get_ident(request) == SENDER
