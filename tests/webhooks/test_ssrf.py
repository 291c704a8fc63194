"""A webhook URL cannot reach our own network: the outbound address policy decides, on
the address connected; plain HTTP only when the operator allows it."""

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from reports.webhooks.models import DeliveryStatus
from tests.dnsserver import ZoneResolver
from tests.factories import make_tenant
from tests.webhooks.helpers import make_endpoint, record, send
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening socket on loopback that accepts nothing by itself: connections queue up."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        yield server


def assert_never_connected(server: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        server.accept()


def _attempt(url: str) -> str:
    endpoint, _ = make_endpoint(make_tenant("acme"), url)
    delivery = send(record(endpoint, T0), T0)
    assert delivery.status == DeliveryStatus.PENDING and delivery.response_status is None
    return delivery.error


def test_loopback_is_not_contacted_without_the_allow_list(
    listener: socket.socket, settings
) -> None:
    settings.OUTBOUND_ALLOWED_ADDRESSES = []
    error = _attempt(f"https://127.0.0.1:{listener.getsockname()[1]}/hook")
    assert error.startswith("unsafe_address")
    assert_never_connected(listener)


def test_a_name_resolving_to_a_private_address_is_not_contacted(
    listener: socket.socket, dns: ZoneResolver, settings
) -> None:
    settings.OUTBOUND_ALLOWED_ADDRESSES = []
    dns.add_a("internal.test", "127.0.0.1")
    error = _attempt(f"https://internal.test:{listener.getsockname()[1]}/hook")
    assert error.startswith("unsafe_address")
    assert_never_connected(listener)


def test_the_cloud_metadata_address_is_not_contacted(settings) -> None:
    settings.OUTBOUND_ALLOWED_ADDRESSES = ["127.0.0.1"]
    error = _attempt("https://169.254.169.254/latest/meta-data/")
    assert error.startswith("unsafe_address")


def test_plain_http_is_refused_unless_the_operator_allows_it(receiver: Receiver, settings) -> None:
    settings.WEBHOOKS_ALLOW_HTTP = False
    error = _attempt(f"http://hooks.test:{receiver.port}/hook")
    assert "https" in error
    assert receiver.received == []


def test_a_certificate_for_another_name_is_refused(receiver: Receiver, dns: ZoneResolver) -> None:
    dns.add_a("wrong.test", "127.0.0.1")
    error = _attempt(receiver.url(host="wrong.test"))
    assert error.startswith("tls_invalid")
    assert receiver.received == []
