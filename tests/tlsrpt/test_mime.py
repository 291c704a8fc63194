"""Finding reports by content in whatever carries them, and the carrier's header facts."""

import base64
import gzip
import io
import json
import zipfile
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import pytest

from reports.tlsrpt import Envelope, HeaderFacts, extract
from tests.tlsrpt.builders import BOUNDARY, as_crlf, dumps, gzip_mail, report_doc, report_mail

# -- finding reports by content


def found(data: bytes, **kwargs: Any) -> Envelope:
    envelope = extract(data, **kwargs)
    assert [r.report.report_id for r in envelope.reports] == ["2026-11-01T00:00:00Z_example.org"]
    return envelope


def test_tlsrpt_gzip_part_holding_plain_json() -> None:
    raw = dumps(report_doc())
    envelope = found(as_crlf(report_mail(raw, subtype="tlsrpt+gzip")))
    assert envelope.reports[0].raw_json == raw


def test_tlsrpt_json_part() -> None:
    found(as_crlf(report_mail(dumps(report_doc()), subtype="tlsrpt+json", filename="r.json")))


def test_application_json_attachment() -> None:
    found(as_crlf(report_mail(dumps(report_doc()), subtype="json", filename="report.json")))


def test_gzip_named_json() -> None:
    payload = gzip.compress(dumps(report_doc()))
    envelope = found(as_crlf(report_mail(payload, subtype="octet-stream", filename="r.json")))
    assert envelope.reports[0].filename == "r.json"


def test_a_file_name_alone_makes_a_part_worth_opening() -> None:
    payload = gzip.compress(dumps(report_doc()))
    found(as_crlf(report_mail(payload, subtype="x-unknown", filename="report.json.gz")))


def test_zip_attachment() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", b"not a report")
        archive.writestr("sender!example.org!1!2.json", dumps(report_doc()))

    envelope = found(as_crlf(report_mail(buffer.getvalue(), subtype="zip", filename="r.zip")))
    assert envelope.reports[0].filename == "sender!example.org!1!2.json"


def test_zip_holding_gzip() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("r.json.gz", gzip.compress(dumps(report_doc())))
    found(buffer.getvalue())


@pytest.mark.parametrize("wrap", [lambda d: d, gzip.compress], ids=["json", "gzip"])
def test_base64_text_upload(wrap: Any) -> None:
    text = base64.encodebytes(wrap(dumps(report_doc())))
    envelope = found(text, filename="report.b64")
    assert envelope.headers is None
    assert envelope.reports[0].filename == "report.b64"


def test_base64_text_in_a_part_without_transfer_encoding() -> None:
    message = report_mail(b"", subtype="tlsrpt+gzip")
    part = message.get_payload()[1]
    del part["Content-Transfer-Encoding"]
    part.set_payload(base64.encodebytes(gzip.compress(dumps(report_doc()))).decode())
    found(as_crlf(message))


def test_a_bare_gzip_upload_keeps_the_given_name() -> None:
    envelope = found(gzip.compress(dumps(report_doc())), filename="report.json")
    assert envelope.reports[0].filename == "report.json"
    assert envelope.headers is None


def test_multi_member_gzip() -> None:
    raw = dumps(report_doc())
    payload = gzip.compress(raw[:50]) + gzip.compress(raw[50:])
    assert found(payload).reports[0].raw_json == raw


def test_report_forwarded_as_an_attached_message() -> None:
    outer = MIMEMultipart()
    outer["From"] = "postmaster@example.org"
    outer["Subject"] = "Fwd: TLS report"
    outer.attach(MIMEText("See the attached report."))
    outer.attach(MIMEMessage(report_mail(gzip.compress(dumps(report_doc())))))

    envelope = found(as_crlf(outer))
    assert envelope.headers is not None
    assert envelope.headers.from_address == "postmaster@example.org"


def test_report_nested_in_several_multiparts() -> None:
    inner = MIMEMultipart("mixed")
    inner.attach(MIMEText("layer"))
    inner.attach(report_mail(gzip.compress(dumps(report_doc()))))
    outer = MIMEMultipart("alternative")
    outer.attach(inner)
    found(as_crlf(outer))


@pytest.mark.parametrize("quoted", [True, False])
def test_report_type_quoted_or_not(quoted: bool) -> None:
    mail = as_crlf(report_mail(gzip.compress(dumps(report_doc())), report_type_quoted=quoted))
    assert (b'report-type="tlsrpt"' in mail) is quoted
    found(mail)


def test_lf_only_message() -> None:
    found(report_mail(gzip.compress(dumps(report_doc()))).as_bytes())


def test_message_without_closing_boundary() -> None:
    mail = as_crlf(report_mail(gzip.compress(dumps(report_doc()))))
    cut = mail[: mail.rindex(f"--{BOUNDARY}--".encode())]
    found(cut + f"--{BOUNDARY}\r\n\r\n".encode())


def test_8bit_json_part_keeps_its_exact_bytes() -> None:
    raw = json.dumps(report_doc(**{"organization-name": "Übermail"}), ensure_ascii=False).encode()
    part = MIMEBase("application", "tlsrpt+json")
    part.set_payload(raw)
    part["Content-Transfer-Encoding"] = "8bit"
    message = report_mail(b"", subtype="tlsrpt+json")
    message.set_payload([message.get_payload()[0], part])

    envelope = found(as_crlf(message))

    assert envelope.reports[0].raw_json == raw
    assert envelope.reports[0].report.organization_name == "Übermail"


def test_every_report_in_a_message_is_returned() -> None:
    message = report_mail(gzip.compress(dumps(report_doc())))
    second = report_doc(**{"report-id": "second"})
    message.attach(report_mail(gzip.compress(dumps(second))).get_payload()[1])

    envelope = extract(as_crlf(message))

    assert [r.report.report_id for r in envelope.reports] == [
        "2026-11-01T00:00:00Z_example.org",
        "second",
    ]


def test_human_readable_text_starting_with_a_brace_is_not_opened() -> None:
    message = report_mail(gzip.compress(dumps(report_doc())))
    message.get_payload()[0].set_payload("{ this is prose, not JSON }")
    found(as_crlf(message))


# -- header facts


def header_facts(mail: bytes) -> HeaderFacts:
    headers = extract(mail).headers
    assert headers is not None
    return headers


def test_header_facts_of_an_rfc_message() -> None:
    headers = header_facts(gzip_mail(report_doc()))

    assert headers.tls_report_domain == "example.org"
    assert headers.tls_report_submitter == "sender.example"
    assert headers.subject_report_id == "2026.11.01T00.00.00Z+example.org@sender.example"
    assert headers.from_address == "tlsrpt@sender.example"
    assert headers.message_id == "abc123@sender.example"


def folded(subject: str) -> bytes:
    message = report_mail(gzip.compress(dumps(report_doc())))
    del message["Subject"]
    raw = as_crlf(message)
    return raw.replace(b"\r\n\r\n", b"\r\nSubject: " + subject.encode() + b"\r\n\r\n", 1)


@pytest.mark.parametrize(
    ("subject", "report_id"),
    [
        (
            "Report Domain: a.example Submitter: m.example Report-ID:\r\n 1331+a.example",
            "1331+a.example",
        ),
        (
            "Report\r\n Domain: a.example\r\n Submitter: m.example\r\n Report-ID: <u-1@m.example>",
            "u-1@m.example",
        ),
        ("Report Domain: a.example Report-ID: < spaced id >", "spaced id"),
        ("=?utf-8?q?Report_Domain=3A_a.example_Report-ID=3A_=3Cq=40m.example=3E?=", "q@m.example"),
        ("Report Domain: a.example", None),
        ("Report-ID:", None),
    ],
)
def test_subject_report_id(subject: str, report_id: str | None) -> None:
    assert header_facts(folded(subject)).subject_report_id == report_id


def test_header_values_are_normalised() -> None:
    mail = gzip_mail(
        report_doc(),
        extra_headers={"TLS-Report-Domain": "Example.ORG.", "Message-ID": "no-brackets@x"},
    )
    headers = header_facts(mail)

    assert headers.tls_report_domain == "example.org"
    assert headers.message_id == "no-brackets@x"


def test_missing_headers_are_none() -> None:
    message = report_mail(gzip.compress(dumps(report_doc())))
    for name in ("From", "Subject", "TLS-Report-Domain", "TLS-Report-Submitter", "Message-ID"):
        del message[name]

    headers = header_facts(as_crlf(message))

    assert (headers.tls_report_domain, headers.tls_report_submitter) == (None, None)
    assert (headers.subject_report_id, headers.from_address, headers.message_id) == (
        None,
        None,
        None,
    )


def test_non_ascii_header_bytes_do_not_break_anything() -> None:
    mail = gzip_mail(report_doc()).replace(
        b"TLS-Report-Submitter: sender.example", b"TLS-Report-Submitter: s\xe9nder.example"
    )
    assert header_facts(mail).tls_report_submitter == "s\ufffdnder.example"


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("<TLSRPT-noreply@Microsoft.com>", "tlsrpt-noreply@microsoft.com"),
        ("noreply-smtp-tls-reporting@google.com", "noreply-smtp-tls-reporting@google.com"),
        ('"Reports, Inc. <fake@x>" <real@sender.example>', "real@sender.example"),
        ("reports@sender.example (TLS Reporter)", "reports@sender.example"),
        ("=?utf-8?q?R=C3=A9ports?= <r@sender.example>", "r@sender.example"),
    ],
)
def test_from_address_is_the_addr_spec_lowercased(value: str, address: str) -> None:
    mail = gzip_mail(report_doc(), extra_headers={"From": value})
    assert header_facts(mail).from_address == address
