"""The mx_tls check: probes run with the health checks, shared across tenants, stored,
shown on the domain page and marked when they change."""

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import trustme
from cryptography import x509
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant
from domains.health import domain_health_refresh
from domains.models import DnsCheck, Domain, MxProbe
from domains.probes.certs import spki
from tests.domains.test_mx_probe import MX, SESSIONS_PER_PROBE, SmtpServer, _context
from tests.domains.zones import policy
from tests.factories import make_domain, make_tenant
from tests.httpsserver import Behaviour

pytestmark = pytest.mark.django_db
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def smtp(dns, settings, ca, tmp_path) -> Iterator:
    """Start an SMTP server for MX (on loopback, let through) with the given certificate."""
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    settings.MTA_STS_CA_FILE = str(ca_file)
    settings.OUTBOUND_ALLOWED_ADDRESSES = ["127.0.0.1"]
    settings.MX_PROBE_DEADLINE = 5.0
    dns.add_a(MX, "127.0.0.1")
    servers: list[SmtpServer] = []

    def start(cert: trustme.LeafCert) -> SmtpServer:
        server = SmtpServer(_context(cert))
        servers.append(server)
        settings.MX_PROBE_PORT = server.port
        return server

    yield start
    for server in servers:
        server.stop()


def domain_with_mx(dns, tenant: Tenant, name: str = "acme.test") -> Domain:
    dns.add_mx(name, MX)
    return make_domain(tenant, name, mx_hosts=[MX])


def refresh(domain: Domain) -> dict[str, DnsCheck]:
    with scope(tenant=domain.tenant_id):
        return {c.kind: c for c in domain_health_refresh(domain=domain)}


def mx_alerts(alerts: list) -> list:
    """The probe's alerts (the bare test zone also lacks a TLS-RPT record: another alert)."""
    return [a for a in alerts if a.kind.startswith("mx_")]


def codes(check: DnsCheck) -> list[str]:
    return [f["code"] for f in check.findings]


def test_a_certificate_expiring_in_5_days_is_an_error_on_the_page(
    dns, smtp, ca, acme, owner
) -> None:
    smtp(ca.issue_cert(MX, not_after=NOW + timedelta(days=5)))
    domain = domain_with_mx(dns, acme)
    check = refresh(domain)["mx_tls"]
    assert check.status == "error"
    assert codes(check) == ["certificate_expires_soon"]
    assert MX in check.findings[0]["message"]
    facts = check.records["hosts"][MX]
    assert set(facts) == {
        "starttls", "tls_version", "cipher", "certificate", "chain", "trusted", "old_tls",
        "error_code", "probed_at",
    }  # fmt: skip
    assert facts["chain"][0] == facts["certificate"]  # the leaf first, then its issuers
    assert set(facts["certificate"]) == {
        "subject", "sans", "issuer", "not_before", "not_after", "key_type", "key_bits",
        "sha256", "spki_sha256",
    }  # fmt: skip
    assert facts["starttls"] is True and facts["trusted"] is True
    page = owner.get(reverse("domain_detail", args=["acme", domain.pk])).content.decode()
    assert 'id="check-mx_tls"' in page
    assert 'data-code="certificate_expires_soon"' in page


def test_two_tenants_sharing_an_mx_cause_one_probe(dns, smtp, ca, acme) -> None:
    server = smtp(ca.issue_cert(MX))
    first = domain_with_mx(dns, acme, "acme.test")
    second = domain_with_mx(dns, make_tenant("globex"), "globex.test")
    assert refresh(first)["mx_tls"].status == "ok"
    assert refresh(second)["mx_tls"].status == "ok"
    assert server.handler.ehlos == SESSIONS_PER_PROBE
    with scopes_disabled():
        assert MxProbe.objects.filter(host=MX).count() == 1


def test_a_probe_older_than_the_interval_is_made_again(dns, smtp, ca, acme, settings) -> None:
    server = smtp(ca.issue_cert(MX))
    domain = domain_with_mx(dns, acme)
    refresh(domain)
    MxProbe.objects.filter(host=MX).update(probed_at=NOW - timedelta(minutes=61))
    refresh(domain)
    assert server.handler.ehlos == 2 * SESSIONS_PER_PROBE


def test_an_unreachable_mx_is_unknown_and_never_reused(dns, acme, settings) -> None:
    settings.OUTBOUND_ALLOWED_ADDRESSES = []  # MX on loopback: refused, no connection
    dns.add_a(MX, "127.0.0.1")
    domain = domain_with_mx(dns, acme)
    check = refresh(domain)["mx_tls"]
    assert check.status == "unknown"
    assert codes(check) == ["probe_unsafe_address"]
    assert check.records["hosts"][MX]["error_code"] == "probe_unsafe_address"
    settings.OUTBOUND_ALLOWED_ADDRESSES = ["127.0.0.1"]
    assert codes(refresh(domain)["mx_tls"]) == ["probe_connect_failed"]  # probed afresh


def test_a_domain_without_mx_hosts_gets_no_mx_tls_check(dns, acme) -> None:
    domain = make_domain(acme, "acme.test")
    assert "mx_tls" not in refresh(domain)


def test_a_certificate_that_broke_is_marked_changed_and_sent_to_webhooks(
    dns, smtp, ca, acme, settings
) -> None:
    from reports.webhooks.models import WebhookDelivery
    from tests.webhooks.helpers import make_endpoint

    settings.MX_PROBE_INTERVAL_MINUTES = 0
    make_endpoint(acme, "https://hooks.test/in", ["dns_check.changed"])
    smtp(ca.issue_cert(MX))
    domain = domain_with_mx(dns, acme)
    assert refresh(domain)["mx_tls"].changed is False
    smtp(ca.issue_cert(MX, not_before=NOW - timedelta(days=90), not_after=NOW - timedelta(days=1)))
    check = refresh(domain)["mx_tls"]
    assert (check.status, check.previous_status, check.changed) == ("error", "ok", True)
    assert codes(check) == ["certificate_expired"]
    with scope(tenant=acme):
        (delivery,) = WebhookDelivery.objects.filter(event_type="dns_check.changed")
    sent = delivery.payload["data"]["check"]
    assert (sent["kind"], sent["status"], sent["previous_status"]) == ("mx_tls", "error", "ok")


def test_the_policy_and_tlsa_records_the_dns_checks_saw_are_used(
    dns, smtp, sts, acme, settings
) -> None:
    """A self-signed-like certificate is fine with a matching DANE-EE record, and the MTA-STS
    policy's mx patterns are what the name is held to."""
    cert = trustme.CA().issue_cert(MX)
    smtp(cert)
    domain = domain_with_mx(dns, acme)
    dns.add_txt("_mta-sts.acme.test", "v=STSv1; id=1")
    dns.add_a("mta-sts.acme.test", "127.0.0.1")
    sts.policies["mta-sts.acme.test"] = Behaviour(
        body=policy("acme.test", mx="*.other.test").encode()
    )

    leaf = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    dns.add_tlsa(f"_25._tcp.{MX}", 3, 1, 1, hashlib.sha256(spki(leaf)).digest())
    check = refresh(domain)["mx_tls"]
    found = {f["code"]: f["level"] for f in check.findings}
    assert found == {"certificate_name_mismatch": "error", "certificate_untrusted": "ok"}


def test_an_expiring_certificate_opens_an_alert_and_a_renewal_resolves_it(
    dns, smtp, ca, acme, settings
) -> None:
    from reports.alerts.rules import alerts_evaluate
    from reports.models import Alert

    settings.MX_PROBE_INTERVAL_MINUTES = 0
    smtp(ca.issue_cert(MX, not_after=NOW + timedelta(days=5)))
    domain = domain_with_mx(dns, acme)
    refresh(domain)
    with scope(tenant=acme):
        opened = mx_alerts(alerts_evaluate(tenant=acme).opened)
        assert [a.kind for a in opened] == ["mx_certificate"]
        assert MX in opened[0].message and "Renew" in opened[0].fix
    smtp(ca.issue_cert(MX))
    refresh(domain)
    with scope(tenant=acme):
        resolved = mx_alerts(alerts_evaluate(tenant=acme).resolved)
        assert [a.kind for a in resolved] == ["mx_certificate"]
        assert not Alert.objects.filter(resolved_at=None, kind__startswith="mx_").exists()


def test_a_tlsa_record_not_matching_opens_an_alert(dns, smtp, ca, acme) -> None:
    from reports.alerts.rules import alerts_evaluate

    smtp(ca.issue_cert(MX))
    domain = domain_with_mx(dns, acme)
    dns.add_tlsa(f"_25._tcp.{MX}", 3, 1, 1, bytes(32))
    assert codes(refresh(domain)["mx_tls"]) == ["tlsa_mismatch"]
    with scope(tenant=acme):
        opened = mx_alerts(alerts_evaluate(tenant=acme).opened)
        assert [a.kind for a in opened] == ["mx_tlsa_mismatch"]


def test_hosts_past_the_time_budget_are_unknown_and_not_contacted(
    dns, smtp, ca, acme, monkeypatch
) -> None:
    from domains.probes import checks

    server = smtp(ca.issue_cert(MX))
    monkeypatch.setattr(checks, "BUDGET_PROBES", 0)
    check = refresh(domain_with_mx(dns, acme))["mx_tls"]
    assert (check.status, codes(check)) == ("unknown", ["probe_timeout"])
    assert server.handler.ehlos == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_probing_one_host_at_once_make_one_probe(smtp, ca) -> None:
    from django.db import connection

    from domains.probes.sharing import probe_shared

    server = smtp(ca.issue_cert(MX))
    results: list = []
    start = threading.Barrier(3)

    def worker() -> None:
        try:
            start.wait(5)
            results.append(probe_shared(MX))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert [r.error_code for r in results] == ["", "", ""]
    assert server.handler.ehlos == SESSIONS_PER_PROBE
