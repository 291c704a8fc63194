"""The DNS resolver every lookup goes through, built from settings.

Tests point ``DNS_NAMESERVERS``/``DNS_PORT`` at their own server on loopback.
"""

import dns.exception
import dns.resolver
from django.conf import settings


class DnsTemporaryError(Exception):
    """No definitive answer (timeout, SERVFAIL, no reachable server): retry later."""


def make_resolver() -> dns.resolver.Resolver:
    nameservers = list(settings.DNS_NAMESERVERS)
    resolver = dns.resolver.Resolver(configure=not nameservers)
    if nameservers:
        resolver.nameservers = nameservers
    resolver.port = settings.DNS_PORT
    resolver.timeout = settings.DNS_TIMEOUT
    resolver.lifetime = settings.DNS_TIMEOUT
    return resolver


def txt_records(name: str, resolver: dns.resolver.Resolver | None = None) -> list[str] | None:
    """TXT records at ``name``, each one's strings joined; None for NXDOMAIN or no TXT data.

    Raises DnsTemporaryError when no definitive answer came back.
    """
    resolver = resolver or make_resolver()
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as e:
        raise DnsTemporaryError(f"No definitive answer for {name} TXT: {e}") from e
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]


def dkim_key_lookup(name: bytes, timeout: float = 5) -> bytes | None:
    """dkimpy's ``dnsfunc``: the DKIM key record at ``name``, None when there is none.

    A temporary failure raises so that the DKIM result is ``temperror``, not ``fail``.
    """
    records = txt_records(name.decode("ascii", "replace").rstrip("."))
    if not records:
        return None
    return records[0].encode()
