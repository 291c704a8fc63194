"""The one address policy for every connection made on a tenant's behalf.

MTA-STS fetches, IMAP mailboxes (and later webhooks and MX probes) reach hosts a customer
names, so each could be turned into a probe of our own network. ``connect`` resolves the
name, keeps only global unicast addresses, connects the socket to that exact address (no
library resolves the name again, so DNS rebinding cannot swap the target between the check
and the connection) and checks the address the kernel actually connected to. Addresses in
``OUTBOUND_ALLOWED_ADDRESSES`` pass anyway: tests reach their servers on loopback with it,
production never sets it. Every failure is an ``OutboundError`` with a stable code:
``dns_missing``, ``dns_unknown``, ``unsafe_address``, ``connect_failed`` or ``timeout``.
"""

import ipaddress
import socket
import ssl
import time
from typing import Any

import dns.resolver
from django.conf import settings

from domains.dns import DnsTemporaryError, lookup, make_resolver

# NAT64 (RFC 6052) embeds the IPv4 address a NAT64 gateway would connect to.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
CODES = ("dns_missing", "dns_unknown", "unsafe_address", "connect_failed", "timeout")


class OutboundError(Exception):
    """Why no connection was made; ``message`` is for logs and operators (it names addresses)."""

    def __init__(self, code: str, message: str) -> None:
        assert code in CODES, code
        super().__init__(message)
        self.code, self.message = code, message


def allowed_addresses() -> frozenset[str]:
    """Non-public addresses that may be contacted anyway (tests only)."""
    return frozenset(settings.OUTBOUND_ALLOWED_ADDRESSES)


def is_public_address(address: str) -> bool:
    """True for a global unicast address, the only kind a connection for a customer may reach."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return _is_global_unicast(ip)


def _is_global_unicast(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        # A mapped address reaches its IPv4 address; judge that one, on every Python version.
        if ip.ipv4_mapped:
            return _is_global_unicast(ip.ipv4_mapped)
        nat64 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        embedded = ip.sixtofour or nat64
        if embedded is not None and not _is_global_unicast(embedded):
            return False
    # is_global misses multicast (224.0.0.0/4, ff00::/8); the rest is belt and braces.
    special = ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_link_local
    return ip.is_global and not (special or ip.is_loopback or ip.is_private)


def resolve(host: str, resolver: dns.resolver.Resolver | None = None) -> list[str]:
    """The addresses of ``host`` (AAAA first, then A), or the address itself when it is one."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    resolver = resolver or make_resolver()
    addresses: list[str] = []
    temporary: Exception | None = None
    for rdtype in ("AAAA", "A"):
        try:
            found = lookup(host, rdtype, resolver)
        except DnsTemporaryError as e:
            temporary = e
            continue
        addresses += found.records
        if found.nxdomain:
            break  # the name does not exist for any type
    if addresses:
        return addresses
    if temporary is not None:
        message = f"no definitive DNS answer for {host} ({temporary.__cause__})."
        raise OutboundError("dns_unknown", message)
    raise OutboundError("dns_missing", f"{host} has no A or AAAA record.")


def connect(
    host: str,
    port: int,
    *,
    deadline: float,
    resolver: dns.resolver.Resolver | None = None,
    allowed: frozenset[str] | None = None,
) -> tuple[socket.socket, str]:
    """A TCP socket to ``host`` on ``port`` at a vetted address, and that address.

    ``deadline`` (``time.monotonic()``) bounds the connection attempts, not DNS (the
    resolver has its own lifetime). ``allowed`` defaults to ``OUTBOUND_ALLOWED_ADDRESSES``.
    """
    allowed = allowed_addresses() if allowed is None else allowed
    return connect_to(host, resolve(host, resolver), port, deadline=deadline, allowed=allowed)


def connect_to(
    host: str, addresses: list[str], port: int, *, deadline: float, allowed: frozenset[str]
) -> tuple[socket.socket, str]:
    """A TCP socket connected to the first vetted address of ``host`` that answers."""
    safe = [a for a in addresses if _vetted(a, allowed)]
    outcomes: list[str] = []
    for index, address in enumerate(safe):
        try:
            # Each address left gets a fair share, so one black hole cannot use it all.
            sock = _open(address, port, remaining(deadline) / (len(safe) - index))
        except TimeoutError:
            outcomes.append("timeout")
            continue
        except OSError as e:
            outcomes.append(f"{address}: {e.strerror or e}")
            continue
        peer = sock.getpeername()[0]  # what the kernel connected to, not what we asked for
        if _vetted(peer, allowed):
            return sock, peer
        sock.close()
        outcomes.append("unsafe")
    if all(outcome == "unsafe" for outcome in outcomes):
        listed = ", ".join(addresses)
        message = f"{host} resolves to {listed}, not a public address; not contacted."
        raise OutboundError("unsafe_address", message)
    if "timeout" in outcomes:
        message = f"{host} did not accept a connection on port {port} in time."
        raise OutboundError("timeout", message)
    message = f"could not connect to port {port} ({'; '.join(outcomes)})."
    raise OutboundError("connect_failed", message)


def remaining(deadline: float) -> float:
    """Seconds left before ``deadline``; raises TimeoutError when it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline passed")
    return left


class DeadlineSocket(ssl.SSLSocket):
    """Re-arms the timeout to what is left before every read, so a server trickling bytes
    cannot stretch the exchange past its deadline."""

    deadline = float("inf")

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        self.settimeout(remaining(self.deadline))
        return super().recv_into(buffer, nbytes, flags)


def tls_wrap(sock: socket.socket, host: str, deadline: float, ca_file: str | None) -> ssl.SSLSocket:
    """TLS 1.2 or later over ``sock``, the chain and ``host`` verified (against ``ca_file``'s
    roots when given), every read bounded by ``deadline``; ssl's errors are the caller's."""
    context = ssl.create_default_context(cafile=ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.sslsocket_class = DeadlineSocket
    sock.settimeout(remaining(deadline))
    tls = context.wrap_socket(sock, server_hostname=host)
    assert isinstance(tls, DeadlineSocket)
    tls.deadline = deadline
    return tls


def _vetted(address: str, allowed: frozenset[str]) -> bool:
    return address in allowed or is_public_address(address)


def _open(address: str, port: int, timeout: float) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    try:
        sock.settimeout(timeout)
        sock.connect((address, port))  # a literal address: no name resolution happens here
    except BaseException:
        sock.close()
        raise
    return sock
