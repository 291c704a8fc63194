"""The sender's address behind our own proxy: ``REMOTE_ADDR`` is the client's, not Caddy's.

Behind Caddy, gunicorn sees the proxy's address. When, and only when, the connection
comes from one of ``TRUSTED_PROXIES`` (addresses or networks), this middleware replaces
``REMOTE_ADDR`` with the right-most ``X-Forwarded-For`` entry that is not itself a trusted
proxy: the address the outermost trusted hop saw. Entries further left were written by
the client and prove nothing. From any other peer the header is ignored, so a forged one
changes nothing. It runs first, so every reader of the address (the audit log, allauth's
rate limits, the doors' per-address limits) reads the sender from ``REMOTE_ADDR`` alone.
"""

import ipaddress
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``TRUSTED_PROXIES`` as networks; a lone address is a network of one."""
    try:
        return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)
    except ValueError as error:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from error


def forwarded_client(peer: str, forwarded_for: str, trusted: tuple[Network, ...]) -> str:
    """The client's address: ``peer`` unless a trusted proxy forwarded the request."""
    if not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_address(hop):
            return peer  # a trusted proxy wrote nonsense: keep what we know
        if not _is_trusted(hop, trusted):
            return hop
    # Every hop is one of ours (or none was given): the farthest one is the client.
    return hops[0] if hops else peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


class ClientAddressMiddleware:
    """Set ``REMOTE_ADDR`` to the sender's address for requests a trusted proxy forwards."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.trusted = trusted_networks(settings.TRUSTED_PROXIES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.trusted:
            meta = request.META
            meta["REMOTE_ADDR"] = forwarded_client(
                meta.get("REMOTE_ADDR", ""), meta.get("HTTP_X_FORWARDED_FOR", ""), self.trusted
            )
        return self.get_response(request)
