"""Report documents, e-mails and keys built for the parser tests (no Django)."""

import base64
import gzip
import json
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
BOUNDARY = "==tlsrpt-test-boundary=="


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def report_doc(**overrides: Any) -> dict[str, Any]:
    """A small valid report: one sts policy with one failure detail."""
    doc: dict[str, Any] = {
        "organization-name": "Example Sender",
        "date-range": {
            "start-datetime": "2026-11-01T00:00:00Z",
            "end-datetime": "2026-11-01T23:59:59Z",
        },
        "contact-info": "tlsrpt@sender.example",
        "report-id": "2026-11-01T00:00:00Z_example.org",
        "policies": [
            {
                "policy": {
                    "policy-type": "sts",
                    "policy-string": ["version: STSv1", "mode: enforce", "mx: mx.example.org"],
                    "policy-domain": "example.org",
                    "mx-host": ["mx.example.org"],
                },
                "summary": {
                    "total-successful-session-count": 10,
                    "total-failure-session-count": 2,
                },
                "failure-details": [
                    {
                        "result-type": "certificate-expired",
                        "sending-mta-ip": "192.0.2.10",
                        "receiving-mx-hostname": "mx.example.org",
                        "receiving-ip": "198.51.100.7",
                        "failed-session-count": 2,
                    }
                ],
            }
        ],
    }
    doc.update(overrides)
    return doc


def policy_of(doc: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return doc["policies"][index]


def dumps(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def report_mail(
    attachment: bytes,
    *,
    subtype: str = "tlsrpt+gzip",
    filename: str | None = "sender.example!example.org!1793491200!1793577599!001.json.gz",
    report_type_quoted: bool = True,
    extra_headers: dict[str, str] | None = None,
) -> Message:
    """An RFC 8460 section 5.3 report e-mail carrying ``attachment`` as given."""
    message = MIMEMultipart("report", boundary=BOUNDARY)
    # email.mime always quotes parameters; senders (Google, Microsoft) often do not.
    report_type = '"tlsrpt"' if report_type_quoted else "tlsrpt"
    message.replace_header(
        "Content-Type", f'multipart/report; report-type={report_type}; boundary="{BOUNDARY}"'
    )
    headers = {
        "From": "TLS Reporter <TLSRPT@Sender.Example>",
        "To": "reports@inbound.example",
        "Subject": "Report Domain: example.org Submitter: sender.example "
        "Report-ID: <2026.11.01T00.00.00Z+example.org@sender.example>",
        "TLS-Report-Domain": "example.org",
        "TLS-Report-Submitter": "sender.example",
        "Message-ID": "<abc123@sender.example>",
        **(extra_headers or {}),
    }
    for name, value in headers.items():
        message[name] = value
    message.attach(MIMEText("This is an aggregate TLS report from sender.example"))
    part = MIMEApplication(attachment, subtype)
    if filename:
        part.add_header("Content-Disposition", "attachment", filename=filename)
    message.attach(part)
    return message


def part_of(message: Message, index: int) -> Message:
    """A multipart message's part (get_payload() is typed for every kind of message)."""
    parts = message.get_payload()
    assert isinstance(parts, list)
    part = parts[index]
    assert isinstance(part, Message)
    return part


def as_crlf(message: Message) -> bytes:
    return message.as_bytes().replace(b"\n", b"\r\n")


def gzip_mail(doc: dict[str, Any], **kwargs: Any) -> bytes:
    return as_crlf(report_mail(gzip.compress(dumps(doc)), **kwargs))


def rsa_key() -> tuple[bytes, bytes]:
    """A fresh RSA key: the PEM to sign with and the DKIM key record to publish."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, b"v=DKIM1; k=rsa; s=tlsrpt; p=" + base64.b64encode(public)
