"""DKIM verdicts on report e-mails signed here with a fresh key.

The key lookup function stands in for the resolver at this level (the Django side checks
against a real DNS server); it has dkimpy's ``dnsfunc(name, timeout=5)`` signature.
"""

from collections.abc import Callable

import dkim
import pytest

from reports.tlsrpt import HeaderFacts, extract
from tests.tlsrpt.builders import gzip_mail, report_doc, rsa_key

SELECTOR_NAME = b"tlsrpt._domainkey.sender.example."
SIGNED = [b"from", b"to", b"subject", b"tls-report-domain", b"tls-report-submitter"]


@pytest.fixture(scope="module")
def key() -> tuple[bytes, bytes]:
    return rsa_key()


def sign(raw: bytes, pem: bytes, domain: bytes = b"sender.example") -> bytes:
    return dkim.sign(raw, b"tlsrpt", domain, pem, include_headers=SIGNED) + raw


def serving(record: bytes | str | None) -> Callable[..., bytes | str | None]:
    def lookup(name: bytes, timeout: float = 5) -> bytes | str | None:
        return record if name == SELECTOR_NAME else None

    return lookup


def facts(raw: bytes, dnsfunc: Callable[..., bytes | str | None] | None) -> HeaderFacts:
    headers = extract(raw, dkim_dnsfunc=dnsfunc).headers
    assert headers is not None
    return headers


def verdict(headers: HeaderFacts) -> tuple[str | None, str | None]:
    return headers.dkim_result, headers.dkim_domain


def test_a_valid_signature_passes(key: tuple[bytes, bytes]) -> None:
    pem, record = key
    raw = sign(gzip_mail(report_doc()), pem)

    assert verdict(facts(raw, serving(record))) == ("pass", "sender.example")


def test_a_key_record_given_as_text_also_passes(key: tuple[bytes, bytes]) -> None:
    pem, record = key
    raw = sign(gzip_mail(report_doc()), pem)

    assert verdict(facts(raw, serving(record.decode()))) == ("pass", "sender.example")


def test_a_tampered_body_fails(key: tuple[bytes, bytes]) -> None:
    pem, record = key
    raw = sign(gzip_mail(report_doc()), pem)
    tampered = raw.replace(b"aggregate TLS report", b"aggregate TLS rep0rt")

    headers = facts(tampered, serving(record))

    assert verdict(headers) == ("fail", "sender.example")


def test_a_tampered_signed_header_fails(key: tuple[bytes, bytes]) -> None:
    pem, record = key
    raw = sign(gzip_mail(report_doc()), pem)

    forged = raw.replace(b"Report Domain: example.org", b"Report Domain: example.net")

    headers = facts(forged, serving(record))

    assert verdict(headers) == ("fail", "sender.example")


def test_a_signature_made_with_another_key_fails(key: tuple[bytes, bytes]) -> None:
    _, record = key
    other_pem, _ = rsa_key()
    raw = sign(gzip_mail(report_doc()), other_pem)

    assert verdict(facts(raw, serving(record))) == ("fail", "sender.example")


def test_an_unsigned_message_has_none() -> None:
    assert verdict(facts(gzip_mail(report_doc()), serving(None))) == ("none", None)


def test_a_lookup_that_raises_is_a_temporary_error(key: tuple[bytes, bytes]) -> None:
    pem, _ = key
    raw = sign(gzip_mail(report_doc()), pem)

    def timing_out(name: bytes, timeout: float = 5) -> bytes:
        raise TimeoutError("resolver timed out")

    assert verdict(facts(raw, timing_out)) == ("temperror", "sender.example")


def test_a_key_that_is_not_published_fails(key: tuple[bytes, bytes]) -> None:
    pem, _ = key
    raw = sign(gzip_mail(report_doc()), pem)

    assert verdict(facts(raw, serving(None))) == ("fail", "sender.example")


def test_without_a_lookup_function_dkim_is_not_checked(key: tuple[bytes, bytes]) -> None:
    pem, _ = key
    raw = sign(gzip_mail(report_doc()), pem)

    assert verdict(facts(raw, None)) == (None, None)


def test_a_garbage_key_record_fails(key: tuple[bytes, bytes]) -> None:
    pem, _ = key
    raw = sign(gzip_mail(report_doc()), pem)

    assert verdict(facts(raw, serving(b"v=DKIM1; p=!!!not-base64"))) == ("fail", "sender.example")


def test_a_malformed_signature_header_fails_without_raising() -> None:
    raw = b"DKIM-Signature: this is not a tag list\r\n" + gzip_mail(report_doc())

    assert facts(raw, serving(None)).dkim_result == "fail"


def test_any_passing_signature_wins(key: tuple[bytes, bytes]) -> None:
    pem, record = key
    other_pem, _ = rsa_key()
    signed = sign(gzip_mail(report_doc()), pem)
    raw = sign(signed, other_pem, domain=b"forwarder.example")

    assert verdict(facts(raw, serving(record))) == ("pass", "sender.example")


def test_the_report_is_found_whatever_the_dkim_verdict(key: tuple[bytes, bytes]) -> None:
    pem, _ = key
    raw = sign(gzip_mail(report_doc()), pem)

    envelope = extract(raw, dkim_dnsfunc=serving(None))

    assert [r.report.report_id for r in envelope.reports] == ["2026-11-01T00:00:00Z_example.org"]
