"""The SMTP door, over real SMTP on loopback."""

import smtplib
import ssl
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant
from reports.models import InboundMessage, Report, Status
from tests.conftest import ROOT, _end_other_sessions, database_url, wait_until
from tests.factories import make_domain, make_tenant
from tests.reports.mail import report_email, report_json
from tests.tcpproxy import database_proxy

pytestmark = pytest.mark.django_db(transaction=True)


def address(tenant: Tenant, local_suffix: str = "") -> str:
    return f"{tenant.inbound_token}{local_suffix}@reports.localhost"


def messages(tenant: Tenant) -> list[InboundMessage]:
    with scope(tenant=tenant):
        return list(InboundMessage.objects.order_by("pk"))


def test_a_report_mailed_to_a_tenant_is_stored_and_processed_there_only(
    smtp_server: tuple[str, int], celery_worker: object
) -> None:
    acme, other = make_tenant("acme"), make_tenant("other")
    make_domain(acme, "example.org")
    make_domain(other, "example.org")
    raw = report_email(report_json(domain="example.org"))

    with smtplib.SMTP(*smtp_server) as smtp:
        refused = smtp.sendmail("tlsrpt@sender.example", [address(acme)], raw)

    assert refused == {}
    (message,) = messages(acme)
    assert (message.channel, bytes(message.raw)) == ("smtp", raw)
    wait_until(lambda: messages(acme)[0].status == Status.PROCESSED)
    with scopes_disabled():
        assert list(Report.objects.values_list("tenant__slug", flat=True)) == ["acme"]
    assert messages(other) == []


def test_unknown_recipients_get_550(smtp_server: tuple[str, int]) -> None:
    acme = make_tenant("acme")
    with smtplib.SMTP(*smtp_server) as smtp:
        smtp.ehlo()
        smtp.mail("tlsrpt@sender.example")
        for rcpt in (
            "nobody@reports.localhost",
            f"{acme.inbound_token}@elsewhere.example",
            "postmaster",
        ):
            code, _ = smtp.rcpt(rcpt)
            assert code == 550, rcpt
        code, _ = smtp.rcpt(address(acme).upper())
        assert code == 250
        code, _ = smtp.rcpt(address(acme, "+tlsrpt"))
        assert code == 250


def test_one_message_to_two_tenants_is_stored_once_for_each(smtp_server: tuple[str, int]) -> None:
    acme, other = make_tenant("acme"), make_tenant("other")
    with smtplib.SMTP(*smtp_server) as smtp:
        smtp.sendmail(
            "a@sender.example",
            [address(acme), address(acme, "+x"), address(other)],
            b"Subject: r\r\n\r\nx\r\n",
        )
    assert len(messages(acme)) == 1 and len(messages(other)) == 1


def test_the_size_limit_is_announced_and_enforced(smtp_server: tuple[str, int], settings) -> None:
    settings.TLSRPT_MAX_MESSAGE_BYTES = 10_000
    acme = make_tenant("acme")
    big = b"Subject: big\r\n\r\n" + (b"x" * 76 + b"\r\n") * 300
    with smtplib.SMTP(*smtp_server) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("size") and smtp.esmtp_features["size"] == "10000"
        # A sender that declares the size is refused at MAIL...
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail("a@sender.example", [address(acme)], big)
        assert refused.value.smtp_code == 552
        # ...and one that does not, at the end of DATA.
        smtp.rset()
        smtp.mail("a@sender.example")
        smtp.rcpt(address(acme))
        code, _ = smtp.data(big)
    assert code == 552
    assert messages(acme) == []


def test_lmtp_for_use_behind_a_mail_server(smtp_server: tuple[str, int], settings) -> None:
    settings.INBOUND_SMTP_LMTP = True
    acme = make_tenant("acme")
    with smtplib.LMTP(*smtp_server) as lmtp:
        lmtp.sendmail("a@sender.example", [address(acme)], b"Subject: r\r\n\r\nx\r\n")
    assert len(messages(acme)) == 1


def _self_signed(folder: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reports.localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_starttls_with_the_configured_certificate(
    smtp_server: tuple[str, int], settings, tmp_path: Path
) -> None:
    settings.INBOUND_SMTP_TLS_CERT, settings.INBOUND_SMTP_TLS_KEY = _self_signed(tmp_path)
    acme = make_tenant("acme")
    context = ssl.create_default_context(cafile=settings.INBOUND_SMTP_TLS_CERT)
    context.check_hostname = False
    with smtplib.SMTP(*smtp_server) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        smtp.starttls(context=context)
        smtp.sendmail("a@sender.example", [address(acme)], b"Subject: r\r\n\r\nx\r\n")
    assert len(messages(acme)) == 1


@pytest.mark.postgresql_only(
    reason=(
        "a TCP proxy cuts the database server's connection; SQLite is a file with no "
        "connection to cut"
    )
)
def test_database_down_during_data_gives_451_then_the_retry_is_stored_once(
    tmp_path: Path,
) -> None:
    acme = make_tenant("acme")
    proxy, env_db = database_proxy(database_url())
    server = subprocess.Popen(
        [sys.executable, "manage.py", "inbound_smtp", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT, env=_env(env_db), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None  # stdout=PIPE
        port = int(server.stdout.readline().rsplit(":", 1)[1])
        raw = b"Subject: r\r\n\r\nx\r\n"
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.ehlo()
            smtp.mail("a@sender.example")
            assert smtp.rcpt(address(acme))[0] == 250
            proxy.cut()
            code, _ = smtp.data(raw)
        assert code == 451
        assert messages(acme) == []

        proxy.restore()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            assert smtp.sendmail("a@sender.example", [address(acme)], raw) == {}
        assert len(messages(acme)) == 1
    finally:
        server.terminate()
        server.wait(10)
        proxy.close()
        _end_other_sessions()


def _env(database: str) -> dict[str, str]:
    import os

    return {**os.environ, "DATABASE_URL": database, "CONN_MAX_AGE": "60", "LOG_LEVEL": "ERROR"}
