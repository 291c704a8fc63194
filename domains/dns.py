"""The DNS resolver every lookup goes through, built from settings.

Tests point ``DNS_NAMESERVERS``/``DNS_PORT`` at their own server on loopback.
"""

from dataclasses import dataclass

import dns.exception
import dns.flags
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
    # DO asks a validating resolver for DNSSEC status: its answers then carry the AD bit.
    resolver.use_edns(0, dns.flags.DO, 1232)
    return resolver


@dataclass(frozen=True)
class Lookup:
    """A definitive answer: the records as text (empty for NXDOMAIN/NODATA)."""

    records: list[str]
    nxdomain: bool = False
    validated: bool = False  # the resolver set AD: DNSSEC-validated data


def lookup(name: str, rdtype: str, resolver: dns.resolver.Resolver) -> Lookup:
    """Records of ``rdtype`` at ``name``; raises DnsTemporaryError without a definitive answer."""
    try:
        answer = resolver.resolve(name, rdtype)
    except dns.resolver.NXDOMAIN:
        return Lookup([], nxdomain=True)
    except dns.resolver.NoAnswer:
        return Lookup([])
    except dns.exception.DNSException as e:  # timeouts, SERVFAIL, unreachable servers
        raise DnsTemporaryError(f"No definitive answer for {name} {rdtype}: {e}") from e
    validated = bool(answer.response.flags & dns.flags.AD)
    if rdtype == "TXT":
        records = [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
    else:
        records = [r.to_text() for r in answer]
    return Lookup(records, validated=validated)


def txt_records(name: str, resolver: dns.resolver.Resolver | None = None) -> list[str] | None:
    """TXT records at ``name``, each one's strings joined; None for NXDOMAIN or no TXT data.

    Raises DnsTemporaryError when no definitive answer came back.
    """
    result = lookup(name, "TXT", resolver or make_resolver())
    return result.records or None


def dkim_key_lookup(name: bytes, timeout: float = 5) -> bytes | None:
    """dkimpy's ``dnsfunc``: the DKIM key record at ``name``, None when there is none.

    A temporary failure raises so that the DKIM result is ``temperror``, not ``fail``.
    """
    records = txt_records(name.decode("ascii", "replace").rstrip("."))
    if not records:
        return None
    return records[0].encode()
