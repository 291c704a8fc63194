"""Publishing a domain's mail set-up in the tests' DNS and HTTPS servers."""

from typing import Any

from accounts.models import Tenant
from tests.dnsserver import ZoneResolver
from tests.httpsserver import Behaviour, StsServer

TLSA_HASH = bytes.fromhex("8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468dd953d7d6a3021f1")


def policy(domain: str, mode: str = "enforce", mx: str | None = None, max_age: int = 604800):
    return f"version: STSv1\nmode: {mode}\nmx: {mx or 'mx.' + domain}\nmax_age: {max_age}\n"


def publish_good(
    dns: ZoneResolver, sts: StsServer, tenant: Tenant, domain: str, *, dane: bool = True
) -> None:
    """Everything right: TLS-RPT to the tenant, MX, MTA-STS enforce, DNSSEC-validated DANE."""
    mx = f"mx.{domain}"
    dns.add_txt(f"_smtp._tls.{domain}", f"v=TLSRPTv1; rua=mailto:{tenant.inbound_address}")
    dns.add_mx(domain, mx)
    dns.add_a(mx, "192.0.2.25")
    dns.add_txt(f"_mta-sts.{domain}", "v=STSv1; id=20261101")
    dns.add_a(f"mta-sts.{domain}", "127.0.0.1")
    sts.policies[f"mta-sts.{domain}"] = Behaviour(body=policy(domain).encode())
    dns.secure.add(domain)
    if dane:
        dns.add_tlsa(f"_25._tcp.{mx}", 3, 1, 1, TLSA_HASH)
        dns.secure.add(f"_25._tcp.{mx}")


def break_sts(sts: StsServer, domain: str, **behaviour: Any) -> None:
    """The policy server answers wrongly (a 404 unless told otherwise)."""
    answer: dict[str, Any] = {"status": 404, "body": b"Not found"}
    sts.policies[f"mta-sts.{domain}"] = Behaviour(**answer | behaviour)
