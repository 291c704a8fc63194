"""txt_mode hosted: our PowerDNS answers ``<label>.<HOSTED_DNS_ZONE>`` with the current id.

PowerDNS Authoritative (Debian's pdns-server with pdns-backend-pgsql; bin/testenv installs
them) runs on a loopback port against the test database, reading the ``pdns`` views of
migration 0006, with its caches off. Its queries come on its own connections, so the tests
that query it commit (``transaction=True``).

The customer's zone is the tests' DNS server's; it does not recurse, so the test of the
whole chain follows the customer's CNAME into our zone itself, as a resolver would.
"""

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from accounts.models import KeyScope, Tenant
from domains.checks import domain_health_check
from domains.hosting import dns_zone
from domains.hosting.models import ChangeSource, HostedPolicy
from domains.hosting.policy import PolicyError
from domains.hosting.selectors import hosting_view
from domains.hosting.services import PolicySettings, hosted_policy_update
from domains.models import Domain
from tests.api.test_api import api, key_for
from tests.dnsserver import ZoneResolver
from tests.domains.zones import publish_good
from tests.factories import make_domain, make_tenant
from tests.httpsserver import StsServer

# Debian's pdns-server (bin/testenv installs it); PDNS_SERVER points elsewhere.
PDNS_SERVER = (
    os.environ.get("PDNS_SERVER") or shutil.which("pdns_server") or "/usr/sbin/pdns_server"
)
ZONE = "ids.tlsrpt.test"
NAMESERVERS = ["ns1.tlsrpt.test", "ns2.tlsrpt.test"]
PG_ONLY = pytest.mark.postgresql_only(reason="PowerDNS's backend reads PostgreSQL")


@pytest.fixture
def zone(settings) -> str:
    settings.HOSTED_DNS_ZONE = ZONE
    settings.HOSTED_DNS_NAMESERVERS = NAMESERVERS
    return ZONE


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask(port: int, name: str, rdtype: str) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    return dns.query.udp(query, "127.0.0.1", port=port, timeout=2)


@pytest.fixture(scope="module")
def pdns(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[int]:
    """PowerDNS on 127.0.0.1:<port> reading the test database; yields the port."""
    if not Path(PDNS_SERVER).exists():
        pytest.skip("PowerDNS not installed (apt-get install pdns-server pdns-backend-pgsql)")
    with django_db_blocker.unblock():
        db = connection.settings_dict
    home = tmp_path_factory.mktemp("pdns")
    (home / "pdns.conf").write_text("")
    port = _free_port()
    process = subprocess.Popen(
        [PDNS_SERVER, f"--config-dir={home}", f"--socket-dir={home}", "--daemon=no",
         "--guardian=no", "--disable-syslog", "--launch=gpgsql",
         f"--gpgsql-host={db['HOST'] or '127.0.0.1'}", f"--gpgsql-port={db['PORT'] or 5432}",
         f"--gpgsql-dbname={db['NAME']}", f"--gpgsql-user={db['USER']}",
         f"--gpgsql-password={db['PASSWORD'] or ''}",
         "--gpgsql-extra-connection-parameters=options='-c search_path=pdns'",
         "--local-address=127.0.0.1", f"--local-port={port}",
         # Every answer from the database: the test asserts the same second.
         "--cache-ttl=0", "--query-cache-ttl=0", "--negquery-cache-ttl=0",
         "--zone-cache-refresh-interval=0", "--security-poll-suffix="],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_until_answering(process, port)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_answering(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"pdns_server exited: {output[-2000:]}")
        try:
            ask(port, "ready.invalid", "SOA")
            return
        except (OSError, dns.exception.Timeout):
            time.sleep(0.1)
    pytest.fail("pdns_server did not answer within 15 s")


def change(domain: Domain, **changes: object) -> HostedPolicy:
    values: dict = {"enabled": True, "mode": "testing", "mx": ["mx1.acme.test"],
                    "max_age": 86400, "txt_mode": "hosted"}  # fmt: skip
    with scope(tenant=domain.tenant_id):
        return hosted_policy_update(
            domain=domain, wanted=PolicySettings(**values | changes), actor=None,
            source=ChangeSource.API,
        )  # fmt: skip


def txt_of(port: int, policy: HostedPolicy) -> tuple[str, list[str]]:
    """The rcode and TXT strings our server answers for the policy's name."""
    answer = ask(port, dns_zone.record_name(policy), "TXT")
    texts = [b"".join(r.strings).decode() for rrset in answer.answer for r in rrset]
    assert answer.flags & dns.flags.AA
    return dns.rcode.to_text(answer.rcode()), texts


def soa_serial(port: int) -> int:
    return ask(port, ZONE, "SOA").answer[0][0].serial


# --- PowerDNS answers from the policies -------------------------------------------------


@PG_ONLY
@pytest.mark.django_db(transaction=True)
def test_our_dns_server_answers_the_new_id_in_the_same_second(
    pdns: int, zone: str, acme: Tenant
) -> None:
    domain = make_domain(acme, "acme.test", mx_hosts=["mx1.acme.test"])
    first = change(domain)
    assert txt_of(pdns, first) == ("NOERROR", [f"v=STSv1; id={first.policy_id}"])
    changed = change(domain, mx=["mx1.acme.test", "mx2.acme.test"])
    committed = time.monotonic()
    answer = txt_of(pdns, changed)
    assert time.monotonic() - committed < 1.0
    assert changed.policy_id != first.policy_id
    assert answer == ("NOERROR", [f"v=STSv1; id={changed.policy_id}"])
    assert changed.dns_label == first.dns_label  # the customer's CNAME stays right


@PG_ONLY
@pytest.mark.django_db(transaction=True)
def test_the_cname_the_customer_publishes_leads_to_the_current_id(
    pdns: int, dns: ZoneResolver, settings, zone: str, acme: Tenant
) -> None:
    domain = make_domain(acme, "acme.test", mx_hosts=["mx1.acme.test"])
    change(domain)
    with scope(tenant=acme.pk):
        record = hosting_view(domain).txt  # what the page and the API tell the customer
    assert (record.name, record.type) == ("_mta-sts.acme.test", "CNAME")
    dns.add_cname(record.name, record.value)  # published once, in the customer's zone
    policy = change(domain, mode="enforce")
    # A resolver: the customer's zone answers with the CNAME, ours with the TXT record.
    customer = ask(settings.DNS_PORT, "_mta-sts.acme.test", "TXT")
    target = customer.answer[0][0].target.to_text()
    assert target == record.value
    answer = ask(pdns, target, "TXT")
    assert [b"".join(r.strings).decode() for r in answer.answer[0]] == [
        f"v=STSv1; id={policy.policy_id}"
    ]


@PG_ONLY
@pytest.mark.django_db(transaction=True)
def test_hosting_off_or_the_customer_publishing_leaves_no_record(
    pdns: int, zone: str, acme: Tenant
) -> None:
    domain = make_domain(acme, "acme.test", mx_hosts=["mx1.acme.test"])
    policy = change(domain)
    assert txt_of(pdns, change(domain, enabled=False))[0] == "NXDOMAIN"
    assert txt_of(pdns, change(domain, txt_mode="customer"))[0] == "NXDOMAIN"
    assert txt_of(pdns, change(domain))[0] == "NOERROR"
    with scope(tenant=acme.pk):
        Domain.objects.filter(pk=domain.pk).update(verified_at=None)  # ownership lost
    assert txt_of(pdns, policy)[0] == "NXDOMAIN"


@PG_ONLY
@pytest.mark.django_db(transaction=True)
def test_each_domain_has_a_name_of_its_own(pdns: int, zone: str, acme: Tenant) -> None:
    other = make_tenant("other")
    ours = change(make_domain(acme, "acme.test", mx_hosts=["mx1.acme.test"]))
    # Another tenant that also proved acme.test gets another name, with its own id.
    theirs = change(make_domain(other, "acme.test", mx_hosts=["mx1.acme.test"]), max_age=604800)
    assert ours.dns_label != theirs.dns_label
    assert txt_of(pdns, ours) == ("NOERROR", [f"v=STSv1; id={ours.policy_id}"])
    assert txt_of(pdns, theirs) == ("NOERROR", [f"v=STSv1; id={theirs.policy_id}"])
    assert dns.rcode.to_text(ask(pdns, f"acme-test.{ZONE}", "TXT").rcode()) == "NXDOMAIN"


@PG_ONLY
@pytest.mark.django_db(transaction=True)
def test_the_zone_has_its_name_servers_and_a_serial_that_grows(
    pdns: int, zone: str, acme: Tenant
) -> None:
    domain = make_domain(acme, "acme.test", mx_hosts=["mx1.acme.test"])
    change(domain)
    ns = ask(pdns, ZONE, "NS").answer[0]
    assert sorted(r.target.to_text() for r in ns) == ["ns1.tlsrpt.test.", "ns2.tlsrpt.test."]
    soa = ask(pdns, ZONE, "SOA").answer[0][0]
    assert (soa.mname.to_text(), soa.rname.to_text()) == ("ns1.tlsrpt.test.", f"hostmaster.{ZONE}.")
    before = soa_serial(pdns)
    change(domain, max_age=604800)  # within the same second, too
    assert soa_serial(pdns) > before


@PG_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_name_outside_our_zone_is_refused(pdns: int, zone: str, acme: Tenant) -> None:
    change(make_domain(acme, "acme.test", mx_hosts=["mx1.acme.test"]))
    assert dns.rcode.to_text(ask(pdns, "_mta-sts.acme.test", "TXT").rcode()) == "REFUSED"


# --- where txt_mode hosted is offered, and what the customer publishes ---------------------


@pytest.mark.django_db
def test_txt_mode_hosted_is_refused_without_a_zone(acme: Tenant, settings) -> None:
    settings.HOSTED_DNS_ZONE = ""
    domain = make_domain(acme, "acme.test", mx_hosts=["mx1.acme.test"])
    with pytest.raises(PolicyError) as refused:
        change(domain)
    assert refused.value.code == "txt_mode_unavailable"
    assert "HOSTED_DNS_ZONE" in refused.value.message


@pytest.mark.django_db
def test_txt_mode_hosted_is_offered_on_postgresql_only(acme: Tenant, zone: str) -> None:
    domain = make_domain(acme, "acme.test", mx_hosts=["mx1.acme.test"])
    if connection.vendor == "postgresql":
        assert change(domain).txt_mode == "hosted"
        return
    with pytest.raises(PolicyError) as refused:
        change(domain)
    assert "PostgreSQL" in refused.value.message


@PG_ONLY
@pytest.mark.django_db
def test_the_page_offers_our_dns_and_shows_the_cname_to_publish(
    owner: Client, acme: Tenant, zone: str
) -> None:
    domain = make_domain(acme, "acme.test", mx_hosts=["mx1.acme.test"])
    page = reverse("domain_mta_sts", kwargs={"slug": acme.slug, "pk": domain.pk})
    assert 'value="hosted"' in owner.get(page).content.decode()
    data = {"enabled": "on", "mode": "testing", "mx": "mx1.acme.test", "max_age": "86400",
            "txt_mode": "hosted"}  # fmt: skip
    assert owner.post(page, data).status_code == 302
    with scope(tenant=acme.pk):
        policy = HostedPolicy.objects.get(domain=domain)
    body = owner.get(page).content.decode()
    assert f'id="txt-value">{policy.dns_label}.{ZONE}.</td>' in body
    assert 'id="txt-type">CNAME</td>' in body
    assert f"id={policy.policy_id}" in body  # what our server answers


@pytest.mark.django_db
def test_the_page_says_why_our_dns_is_not_offered(owner: Client, acme: Tenant, settings) -> None:
    settings.HOSTED_DNS_ZONE = ""
    domain = make_domain(acme, "acme.test", mx_hosts=["mx1.acme.test"])
    change(domain, txt_mode="customer")
    page = reverse("domain_mta_sts", kwargs={"slug": acme.slug, "pk": domain.pk})
    body = owner.get(page).content.decode()
    assert 'value="hosted"' not in body
    assert "no DNS zone of its own" in body


@PG_ONLY
@pytest.mark.django_db
def test_the_api_accepts_txt_mode_hosted_and_answers_the_cname(acme: Tenant, zone: str) -> None:
    domain = make_domain(acme, "acme.test", mx_hosts=["mx1.acme.test"])
    body = {"enabled": True, "mode": "testing", "mx": ["mx1.acme.test"], "max_age": 86400,
            "txt_mode": "hosted"}  # fmt: skip
    response = api(key_for(acme, KeyScope.WRITE)).put(
        f"/api/v1/domains/{domain.pk}/mta-sts", body, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    with scope(tenant=acme.pk):
        label = HostedPolicy.objects.get(domain=domain).dns_label
    assert response.json()["txt_mode"] == "hosted"
    assert response.json()["txt_record"] == {
        "name": "_mta-sts.acme.test",
        "type": "CNAME",
        "value": f"{label}.{ZONE}.",
    }


@PG_ONLY
@pytest.mark.django_db
def test_the_health_check_asks_for_the_cname_while_a_stale_txt_record_stays(
    dns: ZoneResolver, sts: StsServer, acme: Tenant, zone: str
) -> None:
    domain = make_domain(acme, "acme.test")
    publish_good(dns, sts, acme, "acme.test")  # the customer's own TXT record, id=20261101
    policy = change(domain, mode="enforce", mx=["mx.acme.test"])
    with scope(tenant=acme.pk):
        mta_sts = next(c for c in domain_health_check(domain=domain) if c.kind == "mta_sts")
    finding = next(f for f in mta_sts.findings if f["code"] == "sts_id_not_current")
    assert f"CNAME to {policy.dns_label}.{ZONE}." in finding["fix"]
