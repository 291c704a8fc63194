"""The outbound address policy: public addresses only, checked on the address connected."""

import socket
import time
from collections.abc import Iterator

import pytest

from tests.dnsserver import ZoneResolver
from tlsrpt_saas.outbound import OutboundError, connect, is_public_address

LOOPBACK = frozenset({"127.0.0.1"})


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening socket on loopback that accepts nothing by itself: connections queue up."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        yield server


def port_of(server: socket.socket) -> int:
    return server.getsockname()[1]


def assert_never_connected(server: socket.socket) -> None:
    """A completed connection waits in the backlog even once closed: none may be there."""
    with pytest.raises(BlockingIOError):
        server.accept()


def outbound_error(host: str, port: int, **options: object) -> OutboundError:
    options.setdefault("deadline", time.monotonic() + 2)
    with pytest.raises(OutboundError) as caught:
        sock, _ = connect(host, port, **options)  # type: ignore[arg-type]
        sock.close()
    return caught.value


def test_it_connects_to_an_allowed_address_and_says_which(listener: socket.socket) -> None:
    sock, peer = connect(
        "127.0.0.1", port_of(listener), deadline=time.monotonic() + 2, allowed=LOOPBACK
    )
    with sock:
        assert peer == "127.0.0.1"
        accepted, _ = listener.accept()
        accepted.close()


def test_it_never_connects_to_loopback_by_default(listener: socket.socket) -> None:
    error = outbound_error("127.0.0.1", port_of(listener))
    assert error.code == "unsafe_address"
    assert_never_connected(listener)


def test_the_setting_lets_tests_reach_loopback(listener: socket.socket, settings) -> None:
    settings.OUTBOUND_ALLOWED_ADDRESSES = ["127.0.0.1"]
    sock, peer = connect("127.0.0.1", port_of(listener), deadline=time.monotonic() + 2)
    sock.close()
    assert peer == "127.0.0.1"


def test_a_name_resolving_to_loopback_is_refused(
    listener: socket.socket, dns: ZoneResolver
) -> None:
    dns.add_a("imap.inside.test", "127.0.0.1")
    error = outbound_error("imap.inside.test", port_of(listener))
    assert error.code == "unsafe_address"
    assert "127.0.0.1" in error.message
    assert_never_connected(listener)


@pytest.mark.parametrize(
    "address", ["10.0.0.1", "169.254.169.254", "100.64.1.1", "224.0.0.1", "240.0.0.1", "::1"]
)
def test_internal_addresses_are_refused_before_any_attempt(address: str) -> None:
    started = time.monotonic()
    assert outbound_error(address, 993).code == "unsafe_address"
    assert time.monotonic() - started < 0.5  # no connection was even tried


def test_a_name_without_address_is_dns_missing(dns: ZoneResolver) -> None:
    assert outbound_error("nowhere.test", 993).code == "dns_missing"


def test_servfail_is_dns_unknown(dns: ZoneResolver) -> None:
    dns.servfail.add("broken.test")
    assert outbound_error("broken.test", 993).code == "dns_unknown"


def test_a_closed_port_is_connect_failed() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = port_of(unused)
    assert outbound_error("127.0.0.1", port, allowed=LOOPBACK).code == "connect_failed"


def test_a_passed_deadline_is_a_timeout(listener: socket.socket) -> None:
    error = outbound_error("127.0.0.1", port_of(listener), deadline=0.0, allowed=LOOPBACK)
    assert error.code == "timeout"
    assert_never_connected(listener)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("100.64.0.1", False),
        ("fe80::1", False),
        ("::ffff:10.0.0.1", False),
        ("not an address", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public
