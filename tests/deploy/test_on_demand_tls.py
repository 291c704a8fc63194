"""Certificates for hosted MTA-STS policies, as a sender meets them.

The chain as deployed: Caddy with docker/Caddyfile in front of gunicorn, its certificates
from a real ACME CA (Pebble, Let's Encrypt's test server), names from the tests' DNS
server. The first sender to ask for ``mta-sts.<domain>`` makes Caddy ask the app
(``/internal/tls-ask``) and, once it says yes, obtain a certificate for that name during
the handshake; a name the app does not serve gets no certificate, and Caddy logs why.
"""

import os
import socket
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django_scopes import scope

from domains.dns import make_resolver
from domains.hosting.models import ChangeSource
from domains.hosting.services import PolicySettings, hosted_policy_update
from domains.stsfetch import StsFetch, fetch_sts_policy
from tests.conftest import wait_until
from tests.dnsserver import ZoneResolver
from tests.factories import make_domain, make_tenant
from tests.servers_web import CADDY, PEBBLE, Caddy, Listener, Pebble, caddy_server, pebble

pytestmark = pytest.mark.django_db(transaction=True)

POLICY = "version: STSv1\r\nmode: testing\r\nmx: mx.{name}\r\nmax_age: 86400\r\n"


@pytest.fixture
def acme_ca(tmp_path: Path) -> Iterator[Pebble]:
    if not os.access(PEBBLE, os.X_OK):
        pytest.skip(f"Pebble not found at {PEBBLE}: install Debian's pebble (make test does)")
    with pebble(tmp_path / "pebble") as ca:
        yield ca


@pytest.fixture
def edge(gunicorn_workers: Listener, acme_ca: Pebble, tmp_path: Path) -> Iterator[Caddy]:
    """Caddy before gunicorn, getting certificates from Pebble, logging at debug level
    (where Caddy 2.6 logs a refused handshake)."""
    if not os.access(CADDY, os.X_OK):
        pytest.skip(f"Caddy not found at {CADDY}: install Debian's caddy (make test does)")
    env = {
        "ACME_DIRECTORY_URL": acme_ca.directory_url,
        "ACME_EMAIL": "ops@example.com",
        "CADDY_GLOBAL_OPTIONS": f"acme_ca_root {acme_ca.listener_ca}\ndebug",
    }
    with caddy_server(gunicorn_workers, tmp_path / "caddy", env) as server:
        yield server


def unique_domain() -> str:
    """A name of this test's own: gunicorn caches answers by name in the shared Redis."""
    return f"h{uuid.uuid4().hex[:10]}.test"


def hosted_domain(dns: ZoneResolver) -> str:
    """A verified domain with hosting on, its mta-sts name pointing at Caddy."""
    name = unique_domain()
    domain = make_domain(make_tenant("acme"), name)
    with scope(tenant=domain.tenant_id):
        hosted_policy_update(
            domain=domain, actor=None, source=ChangeSource.API,
            wanted=PolicySettings(enabled=True, mode="testing", mx=[f"mx.{name}"], max_age=86400),
        )  # fmt: skip
    dns.add_a(f"mta-sts.{name}", "127.0.0.1")
    return name


def sender_fetch(domain: str, edge: Caddy, acme_ca: Pebble) -> StsFetch:
    """The product's own MTA-STS fetch, trusting Pebble's root as a sender trusts the
    public CAs, on Caddy's HTTPS port."""
    return fetch_sts_policy(
        domain, resolver=make_resolver(), timeout=20.0, port=edge.https.port,
        ca_file=str(acme_ca.root), allowed_addresses=frozenset({"127.0.0.1"}),
    )  # fmt: skip


def served_certificate(edge: Caddy, name: str, acme_ca: Pebble) -> dict:
    """The certificate Caddy presents for ``name``, verified against Pebble's root."""
    context = ssl.create_default_context(cafile=str(acme_ca.root))
    with (
        socket.create_connection((edge.https.host, edge.https.port), timeout=20) as sock,
        context.wrap_socket(sock, server_hostname=name) as tls,
    ):
        certificate = tls.getpeercert()
    assert certificate is not None
    return certificate


def test_a_sender_gets_the_hosted_policy_with_a_certificate_obtained_on_demand(
    dns: ZoneResolver, edge: Caddy, acme_ca: Pebble
) -> None:
    name = hosted_domain(dns)

    fetched = sender_fetch(name, edge, acme_ca)

    assert (fetched.ok, fetched.status, fetched.error_code) == (True, 200, ""), fetched.message
    assert fetched.body == POLICY.format(name=name)
    certificate = served_certificate(edge, f"mta-sts.{name}", acme_ca)
    assert certificate["subjectAltName"] == (("DNS", f"mta-sts.{name}"),)
    issuer = dict(pair[0] for pair in certificate["issuer"])
    assert issuer["commonName"].startswith("Pebble Intermediate CA")
    log = edge.log.read_text()
    assert f'"certificate obtained successfully","identifier":"mta-sts.{name}"' in log


def test_a_name_the_app_does_not_serve_gets_no_certificate(
    dns: ZoneResolver, edge: Caddy, acme_ca: Pebble
) -> None:
    unhosted = unique_domain()
    make_domain(make_tenant("acme"), unhosted)  # verified, hosting never turned on
    for name in ("unknown.example", unhosted):
        dns.add_a(f"mta-sts.{name}", "127.0.0.1")

    for name in ("unknown.example", unhosted):
        fetched = sender_fetch(name, edge, acme_ca)
        assert (fetched.ok, fetched.error_code) == (False, "sts_fetch_tls_failed"), name
        with pytest.raises(ssl.SSLError, match="TLSV1_ALERT_INTERNAL_ERROR"):
            served_certificate(edge, f"mta-sts.{name}", acme_ca)

    def refused(name: str) -> bool:
        return any(
            f"mta-sts.{name}: certificate not allowed by ask endpoint" in line
            and "non-2xx status code 404" in line
            for line in edge.log.read_text().splitlines()
        )

    wait_until(lambda: refused("unknown.example") and refused(unhosted), timeout=5)
    log = edge.log.read_text()
    assert "obtaining new certificate" not in log  # nothing was asked of the CA
    assert "/order-plz" not in acme_ca_log(acme_ca)


def acme_ca_log(acme_ca: Pebble) -> str:
    return (acme_ca.root.parent / "pebble.log").read_text()
