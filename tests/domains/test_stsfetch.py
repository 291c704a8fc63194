"""Fetching MTA-STS policies over real HTTPS and DNS on loopback, never reaching inside."""

import ipaddress
import socket
import time

import pytest

from domains.dns import make_resolver
from domains.stsfetch import StsFetch, fetch_sts_policy, is_public_address
from tests.dnsserver import ZoneResolver
from tests.httpsserver import GOOD_POLICY, Behaviour, StsServer

LOOPBACK = frozenset({"127.0.0.1"})


def serve(dns: ZoneResolver, sts: StsServer, domain: str, behaviour: Behaviour) -> None:
    dns.add_a(f"mta-sts.{domain}", "127.0.0.1")
    sts.policies[f"mta-sts.{domain}"] = behaviour


def fetch(domain: str, sts: StsServer, **options: object) -> StsFetch:
    defaults: dict = {"timeout": 3.0, "port": sts.port, "ca_file": sts.ca_file}
    defaults["allowed_addresses"] = LOOPBACK
    return fetch_sts_policy(domain, resolver=make_resolver(), **{**defaults, **options})


def assert_outcome(result: StsFetch, error_code: str, *, definitive: bool) -> None:
    assert (result.error_code, result.definitive, result.ok) == (error_code, definitive, False)
    assert result.url in result.message
    assert result.fix
    assert result.body == ""


def assert_no_connection_came_before(dns: ZoneResolver, sts: StsServer) -> None:
    """The server accepts in order: a connection made earlier would be counted before this one."""
    serve(dns, sts, "barrier.test", Behaviour())
    assert fetch("barrier.test", sts).ok
    assert sts.connections == 1
    assert [request.name for request in sts.requests] == ["mta-sts.barrier.test"]


def test_it_returns_a_good_policy(dns: ZoneResolver, sts: StsServer) -> None:
    serve(dns, sts, "good.test", Behaviour())
    result = fetch("good.test", sts)
    assert (result.ok, result.definitive, result.error_code) == (True, True, "")
    assert result.body == GOOD_POLICY
    assert (result.status, result.address) == (200, "127.0.0.1")
    assert result.url == f"https://mta-sts.good.test:{sts.port}/.well-known/mta-sts.txt"


def test_it_sends_host_and_no_cache_headers(dns: ZoneResolver, sts: StsServer) -> None:
    serve(dns, sts, "good.test", Behaviour())
    fetch("good.test", sts)
    [request] = sts.requests
    assert (request.host, request.path) == (
        f"mta-sts.good.test:{sts.port}",
        "/.well-known/mta-sts.txt",
    )
    assert request.headers["User-Agent"] == "tlsrpt-saas MTA-STS check"
    assert request.headers["Cache-Control"] == "no-cache"
    assert request.headers["Connection"] == "close"


def test_it_reports_a_404(dns: ZoneResolver, sts: StsServer) -> None:
    serve(dns, sts, "missing.test", Behaviour(status=404, body=b"not here"))
    result = fetch("missing.test", sts)
    assert_outcome(result, "sts_fetch_status", definitive=True)
    assert result.status == 404
    assert "404" in result.message


def test_it_does_not_follow_a_redirect(dns: ZoneResolver, sts: StsServer) -> None:
    elsewhere = f"https://mta-sts.elsewhere.test:{sts.port}/.well-known/mta-sts.txt"
    serve(dns, sts, "moved.test", Behaviour(status=301, location=elsewhere, body=b""))
    serve(dns, sts, "elsewhere.test", Behaviour())
    result = fetch("moved.test", sts)
    assert_outcome(result, "sts_fetch_status", definitive=True)
    assert result.status == 301
    assert elsewhere in result.message
    assert [request.name for request in sts.requests] == ["mta-sts.moved.test"]


def test_it_refuses_an_oversized_policy(dns: ZoneResolver, sts: StsServer) -> None:
    serve(dns, sts, "big.test", Behaviour(body=b"mx: mx.big.test\n" * 6400))  # 100 KB
    assert_outcome(fetch("big.test", sts), "sts_fetch_too_large", definitive=True)


def test_it_gives_up_on_a_slow_server(dns: ZoneResolver, sts: StsServer) -> None:
    serve(dns, sts, "slow.test", Behaviour(delay=10))
    started = time.monotonic()
    result = fetch("slow.test", sts, timeout=1.0)
    assert_outcome(result, "sts_fetch_timeout", definitive=False)
    assert time.monotonic() - started < 2.0


def test_it_gives_up_on_a_trickling_server(dns: ZoneResolver, sts: StsServer) -> None:
    # Each byte arrives well within any per-read timeout; only an overall deadline stops it.
    serve(dns, sts, "trickle.test", Behaviour(trickle=0.1))
    started = time.monotonic()
    result = fetch("trickle.test", sts, timeout=1.0)
    assert_outcome(result, "sts_fetch_timeout", definitive=False)
    assert time.monotonic() - started < 2.0


def test_it_refuses_a_wrong_content_type(dns: ZoneResolver, sts: StsServer) -> None:
    serve(dns, sts, "html.test", Behaviour(content_type="text/html; charset=utf-8"))
    result = fetch("html.test", sts)
    assert_outcome(result, "sts_fetch_content_type", definitive=True)
    assert result.status == 200


def test_it_refuses_a_missing_content_type(dns: ZoneResolver, sts: StsServer) -> None:
    serve(dns, sts, "untyped.test", Behaviour(content_type=""))
    assert_outcome(fetch("untyped.test", sts), "sts_fetch_content_type", definitive=True)


def test_it_accepts_content_type_in_any_case(dns: ZoneResolver, sts: StsServer) -> None:
    serve(dns, sts, "upper.test", Behaviour(content_type="Text/Plain;Charset=UTF-8"))
    assert fetch("upper.test", sts).ok


def test_it_refuses_a_policy_that_is_not_utf8(dns: ZoneResolver, sts: StsServer) -> None:
    serve(dns, sts, "latin1.test", Behaviour(body="mx: m\xe9l.test\n".encode("latin-1")))
    assert_outcome(fetch("latin1.test", sts), "sts_fetch_not_utf8", definitive=True)


def test_it_refuses_a_certificate_for_another_name(dns: ZoneResolver, sts: StsServer) -> None:
    serve(dns, sts, "wrongcert.test", Behaviour(cert_name="mta-sts.other.test"))
    result = fetch("wrongcert.test", sts)
    assert_outcome(result, "sts_fetch_tls_invalid", definitive=True)
    assert "mta-sts.wrongcert.test" in result.fix
    assert sts.requests == []


def test_it_refuses_a_certificate_from_an_unknown_ca(dns: ZoneResolver, sts: StsServer) -> None:
    serve(dns, sts, "good.test", Behaviour())
    result = fetch("good.test", sts, ca_file=None)  # the system's CAs do not know trustme's
    assert_outcome(result, "sts_fetch_tls_invalid", definitive=True)
    assert sts.requests == []


def test_it_reports_a_name_without_address(dns: ZoneResolver, sts: StsServer) -> None:
    result = fetch("nowhere.test", sts)
    assert_outcome(result, "sts_fetch_dns_missing", definitive=True)


def test_it_reports_a_dns_timeout_as_unknown(dns: ZoneResolver, sts: StsServer, settings) -> None:
    settings.DNS_TIMEOUT = 0.3
    dns.timeout.add("mta-sts.silent.test")
    assert_outcome(fetch("silent.test", sts), "sts_fetch_dns_unknown", definitive=False)


def test_it_reports_servfail_as_unknown(dns: ZoneResolver, sts: StsServer) -> None:
    dns.servfail.add("mta-sts.broken.test")
    assert_outcome(fetch("broken.test", sts), "sts_fetch_dns_unknown", definitive=False)


def test_it_reports_a_refused_connection_as_unknown(dns: ZoneResolver, sts: StsServer) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    serve(dns, sts, "closed.test", Behaviour())
    result = fetch("closed.test", sts, port=port)
    assert_outcome(result, "sts_fetch_connect_failed", definitive=False)


def test_it_never_connects_to_loopback_unless_allowed(dns: ZoneResolver, sts: StsServer) -> None:
    serve(dns, sts, "internal.test", Behaviour())
    result = fetch("internal.test", sts, allowed_addresses=frozenset())
    assert_outcome(result, "sts_fetch_unsafe_address", definitive=True)
    assert "127.0.0.1" in result.message
    assert result.address == ""
    assert_no_connection_came_before(dns, sts)


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # cloud metadata
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.1.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 (refused, never bound)
        "127.0.0.2",
        "224.0.0.1",
        "255.255.255.255",
        "192.0.2.1",  # documentation
        "240.0.0.1",  # reserved
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    ],
)
def test_it_refuses_internal_addresses(dns: ZoneResolver, sts: StsServer, address: str) -> None:
    dns.add_a("mta-sts.internal.test", ipaddress.ip_address(address).exploded)  # for dnslib
    started = time.monotonic()
    result = fetch("internal.test", sts)
    assert_outcome(result, "sts_fetch_unsafe_address", definitive=True)
    assert time.monotonic() - started < 0.5  # refused before any connection attempt


def test_it_refuses_a_cname_to_an_internal_name(dns: ZoneResolver, sts: StsServer) -> None:
    dns.add_cname("mta-sts.alias.test", "inside.corp.test")
    dns.add_a("inside.corp.test", "127.0.0.1")
    result = fetch("alias.test", sts, allowed_addresses=frozenset())
    assert_outcome(result, "sts_fetch_unsafe_address", definitive=True)
    assert_no_connection_came_before(dns, sts)


def test_it_skips_internal_addresses_for_a_public_one(dns: ZoneResolver, sts: StsServer) -> None:
    dns.add_a("mta-sts.mixed.test", "10.0.0.1")
    serve(dns, sts, "mixed.test", Behaviour())
    result = fetch("mixed.test", sts)
    assert (result.ok, result.address) == (True, "127.0.0.1")


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_it_counts_global_unicast_addresses_as_public(address: str) -> None:
    assert is_public_address(address)
