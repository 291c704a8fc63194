"""The live MX TLS probe against real SMTP servers on loopback: what each set-up gives."""

import hashlib
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller

from domains.probes.findings import probe_findings
from domains.probes.smtp_tls import ProbeResult, mx_probe

MX = "mx.acme.test"
NOW = datetime.now(UTC)


# A probe of a server with TLS 1.2 or later is two sessions: the probe itself, then one
# asking for TLS 1.1 at most (does it also accept a deprecated version?).
SESSIONS_PER_PROBE = 2


class Counting:
    """An aiosmtpd handler that counts EHLOs (one per probe) and MAIL commands (never)."""

    def __init__(self) -> None:
        self.ehlos = 0
        self.mails = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.ehlos += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, options):
        self.mails += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self, tls: ssl.SSLContext | None) -> None:
        self.handler = Counting()
        self.port = _free_port()
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, tls_context=tls,
            require_starttls=False, ready_timeout=5,
        )  # fmt: skip
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def mx(dns, settings, ca_file: str) -> str:
    """MX resolves to loopback, which the outbound policy lets through for these tests."""
    dns.add_a(MX, "127.0.0.1")
    settings.OUTBOUND_ALLOWED_ADDRESSES = ["127.0.0.1"]
    settings.MTA_STS_CA_FILE = ca_file
    settings.MX_PROBE_DEADLINE = 5.0
    settings.MX_PROBE_HELO = "probe.tlsrpt.test"
    return MX


def _context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


@pytest.fixture
def serve(settings) -> Iterator:
    servers: list[SmtpServer] = []

    def start(cert: trustme.LeafCert | None) -> SmtpServer:
        server = SmtpServer(_context(cert) if cert else None)
        servers.append(server)
        settings.MX_PROBE_PORT = server.port
        return server

    yield start
    for server in servers:
        server.stop()


def codes(probe: ProbeResult, **kwargs) -> dict[str, str]:
    return {f.code: str(f.level) for f in probe_findings(probe, now=datetime.now(UTC), **kwargs)}


def test_a_valid_certificate_is_ok_and_its_facts_are_recorded(mx, serve, ca) -> None:
    server = serve(ca.issue_cert(MX))
    probe = mx_probe(MX)
    assert probe.error_code == ""
    assert probe.starttls is True
    assert probe.tls_version.startswith("TLSv1.")
    assert probe.cipher
    assert probe.trusted is True
    assert probe.certificate is not None
    assert probe.certificate.sans == [MX]
    assert probe.certificate.key_type == "EC"
    assert len(probe.certificate.spki_sha256) == 64
    assert codes(probe) == {"mx_tls_ok": "ok"}
    assert probe.old_tls == ""  # asked for TLS 1.1 at most, it refused
    assert server.handler.ehlos == SESSIONS_PER_PROBE
    assert server.handler.mails == 0  # never a message


def test_the_facts_survive_a_round_trip_through_json(mx, serve, ca) -> None:
    serve(ca.issue_cert(MX))
    probe = mx_probe(MX)
    again = ProbeResult.from_dict(probe.as_dict())
    assert again == probe
    assert set(probe.facts()) == {
        "starttls", "tls_version", "cipher", "certificate", "chain", "trusted", "old_tls",
        "error_code", "probed_at",
    }  # fmt: skip


def test_an_expired_certificate_is_an_error(mx, serve, ca) -> None:
    serve(ca.issue_cert(MX, not_before=NOW - timedelta(days=90), not_after=NOW - timedelta(days=2)))
    probe = mx_probe(MX)
    assert codes(probe) == {"certificate_expired": "error"}
    assert probe.trusted is True  # trust is judged apart from the dates


def test_a_certificate_not_yet_valid_is_an_error(mx, serve, ca) -> None:
    serve(ca.issue_cert(MX, not_before=NOW + timedelta(days=2), not_after=NOW + timedelta(days=90)))
    assert codes(mx_probe(MX)) == {"certificate_not_yet_valid": "error"}


def test_a_certificate_expiring_in_5_days_is_an_error(mx, serve, ca) -> None:
    serve(ca.issue_cert(MX, not_after=NOW + timedelta(days=5)))
    assert codes(mx_probe(MX)) == {"certificate_expires_soon": "error"}


def test_a_certificate_expiring_in_15_days_is_a_warning(mx, serve, ca) -> None:
    serve(ca.issue_cert(MX, not_after=NOW + timedelta(days=15)))
    assert codes(mx_probe(MX)) == {"certificate_expires_soon": "warning"}


def test_a_certificate_for_another_name_is_a_mismatch(mx, serve, ca) -> None:
    serve(ca.issue_cert("mail.other.test"))
    probe = mx_probe(MX)
    assert codes(probe) == {"certificate_name_mismatch": "error"}
    assert probe.trusted is True


def test_a_wildcard_covers_one_label_only(mx, serve, ca) -> None:
    serve(ca.issue_cert("*.acme.test"))
    assert codes(mx_probe(MX)) == {"mx_tls_ok": "ok"}
    serve(ca.issue_cert("*.test"))
    assert codes(mx_probe(MX)) == {"certificate_name_mismatch": "error"}


def test_a_certificate_matching_the_mx_but_not_the_policy_is_a_mismatch(mx, serve, ca) -> None:
    serve(ca.issue_cert(MX))
    probe = mx_probe(MX)
    assert codes(probe, policy_mx=["*.acme.test"]) == {"mx_tls_ok": "ok"}
    found = probe_findings(probe, now=datetime.now(UTC), policy_mx=["mx.other.test"])
    assert [(f.code, str(f.level)) for f in found] == [("certificate_name_mismatch", "error")]
    assert "mx.other.test" in found[0].message


def test_an_untrusted_certificate_is_fatal_under_mta_sts(mx, serve) -> None:
    serve(trustme.CA().issue_cert(MX))  # a root nobody trusts, as with a self-signed one
    probe = mx_probe(MX)
    assert probe.trusted is False
    assert codes(probe, policy_mx=[MX]) == {"certificate_untrusted": "error"}
    assert codes(probe) == {"certificate_untrusted": "warning"}


def test_an_untrusted_certificate_is_fine_with_a_matching_dane_ee_record(mx, serve) -> None:
    serve(trustme.CA().issue_cert(MX))
    probe = mx_probe(MX)
    assert probe.certificate is not None
    record = f"3 1 1 {probe.certificate.spki_sha256}"
    assert codes(probe, tlsa=[record]) == {"certificate_untrusted": "ok"}


def test_a_tlsa_record_matching_nothing_is_a_mismatch(mx, serve, ca) -> None:
    serve(ca.issue_cert(MX))
    probe = mx_probe(MX)
    found = probe_findings(probe, now=datetime.now(UTC), tlsa=["3 1 1 " + "00" * 32])
    assert [(f.code, str(f.level)) for f in found] == [("tlsa_mismatch", "error")]
    assert "usage 3 selector 1 matching type 1" in found[0].message


def test_dane_ta_and_full_certificate_records_match_the_chain(mx, serve, ca) -> None:
    intermediate = ca.create_child_ca()
    serve(intermediate.issue_cert(MX))
    probe = mx_probe(MX)
    assert probe.trusted is True
    assert len(probe.chain) == 2  # the leaf and the intermediate it was sent with
    leaf_sha512 = hashlib.sha512(probe.chain[0]).hexdigest()
    assert "tlsa_mismatch" not in codes(probe, tlsa=[f"3 0 2 {leaf_sha512}"])
    ta = hashlib.sha256(probe.chain[1]).hexdigest()
    assert "tlsa_mismatch" not in codes(probe, tlsa=[f"2 0 1 {ta}"])
    assert "tlsa_mismatch" in codes(
        probe, tlsa=[f"2 0 1 {hashlib.sha256(probe.chain[0]).hexdigest()}"]
    )


def test_a_server_without_starttls_is_starttls_missing(mx, serve) -> None:
    server = serve(None)
    probe = mx_probe(MX)
    assert probe.starttls is False
    assert probe.error_code == "starttls_missing"
    assert codes(probe, policy_mx=[MX]) == {"starttls_missing": "error"}
    assert server.handler.ehlos == 1


def test_a_server_stalling_after_the_banner_is_unknown_within_the_deadline(mx, settings) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    settings.MX_PROBE_PORT = listener.getsockname()[1]
    held: list[socket.socket] = []

    def greet_then_stall() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"220-mx.acme.test ESMTP\r\n220 more to come\r\n")
        held.append(conn)

    thread = threading.Thread(target=greet_then_stall, daemon=True)
    thread.start()
    try:
        probe = mx_probe(MX, deadline_s=1.0)
    finally:
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()
    assert probe.error_code == "probe_timeout"
    assert codes(probe) == {"probe_timeout": "unknown"}


def test_an_mx_on_a_private_address_is_never_contacted(dns, settings) -> None:
    dns.add_a(MX, "127.0.0.1")
    settings.OUTBOUND_ALLOWED_ADDRESSES = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    settings.MX_PROBE_PORT = listener.getsockname()[1]
    try:
        probe = mx_probe(MX)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked
    finally:
        listener.close()
    assert codes(probe) == {"probe_unsafe_address": "unknown"}


def test_an_mx_without_addresses_is_unknown(dns, settings) -> None:
    probe = mx_probe("nowhere.acme.test")
    assert codes(probe) == {"probe_connect_failed": "unknown"}


def test_a_closed_port_is_unknown(mx, settings) -> None:
    settings.MX_PROBE_PORT = _free_port()
    assert codes(mx_probe(MX)) == {"probe_connect_failed": "unknown"}


def test_a_server_speaking_only_tls_1_0_is_old(mx, ca) -> None:
    context = _context(ca.issue_cert(MX))
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError) as e:
        pytest.skip(f"this OpenSSL ({ssl.OPENSSL_VERSION}) cannot offer TLS 1.0: {e}")
    server = SmtpServer(context)
    try:
        probe = mx_probe(MX, port=server.port)
    finally:
        server.stop()
    if probe.error_code == "tls_handshake_failed":
        pytest.skip(f"this OpenSSL ({ssl.OPENSSL_VERSION}) refuses TLS 1.0: {probe.error}")
    assert probe.tls_version == "TLSv1"
    assert codes(probe) == {"tls_version_old": "warning"}
    assert codes(probe, policy_mx=[MX]) == {"tls_version_old": "error"}


def test_a_server_also_accepting_tls_1_0_is_old_though_its_best_is_modern(mx, settings, ca) -> None:
    context = _context(ca.issue_cert(MX))
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError) as e:
        pytest.skip(f"this OpenSSL ({ssl.OPENSSL_VERSION}) cannot offer TLS 1.0: {e}")
    server = SmtpServer(context)
    settings.MX_PROBE_PORT = server.port
    try:
        probe = mx_probe(MX)
    finally:
        server.stop()
    assert probe.tls_version in ("TLSv1.2", "TLSv1.3")
    assert probe.old_tls in ("TLSv1", "TLSv1.1")
    assert codes(probe) == {"tls_version_old": "warning"}
    assert server.handler.ehlos == SESSIONS_PER_PROBE
    assert server.handler.mails == 0


def test_garbage_after_starttls_is_a_failed_handshake(mx, settings) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    settings.MX_PROBE_PORT = listener.getsockname()[1]

    def pretend() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"220 mx.acme.test ESMTP\r\n")
            conn.recv(1024)  # EHLO
            conn.sendall(b"250-mx.acme.test\r\n250 STARTTLS\r\n")
            conn.recv(1024)  # STARTTLS
            conn.sendall(b"220 go ahead\r\nthis is not TLS at all\r\n")
            conn.recv(1024)  # the client's hello, answered by nothing more

    thread = threading.Thread(target=pretend, daemon=True)
    thread.start()
    try:
        probe = mx_probe(MX, deadline_s=5.0)
    finally:
        thread.join(5)
        listener.close()
    assert probe.starttls is True
    assert probe.error_code == "tls_handshake_failed"
    assert codes(probe, policy_mx=[MX]) == {"tls_handshake_failed": "error"}
