"""Report documents and report emails (RFC 8460 section 5.3) built for tests."""

import gzip
import json
import uuid
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import dkim


def report_json(
    *,
    domain: str,
    policy_type: str = "sts",
    successful: int = 10,
    failed: int = 2,
    organization: str = "Example Sender",
    report_id: str | None = None,
    day: str = "2026-11-01",
) -> dict[str, Any]:
    detail = {
        "result-type": "certificate-expired",
        "sending-mta-ip": "192.0.2.10",
        "receiving-mx-hostname": f"mx.{domain}",
        "receiving-ip": "198.51.100.7",
        "failed-session-count": failed,
    }
    return {
        "organization-name": organization,
        "date-range": {"start-datetime": f"{day}T00:00:00Z", "end-datetime": f"{day}T23:59:59Z"},
        "contact-info": "tlsrpt@sender.example",
        "report-id": report_id or str(uuid.uuid4()),
        "policies": [
            {
                "policy": {"policy-type": policy_type, "policy-domain": domain},
                "summary": {
                    "total-successful-session-count": successful,
                    "total-failure-session-count": failed,
                },
                "failure-details": [detail] if failed else [],
            }
        ],
    }


def report_email(
    document: dict[str, Any], *, header_domain: str | None = None, sign_with: bytes | None = None
) -> bytes:
    domain = header_domain or document["policies"][0]["policy"]["policy-domain"]
    message = MIMEMultipart("report", report_type="tlsrpt")
    message["From"] = "TLS Reporter <tlsrpt@sender.example>"
    message["To"] = "reports@inbound.example"
    message["Subject"] = (
        f"Report Domain: {domain} Submitter: sender.example Report-ID: <{document['report-id']}>"
    )
    message["TLS-Report-Domain"] = domain
    message["TLS-Report-Submitter"] = "sender.example"
    message["Message-ID"] = f"<{uuid.uuid4()}@sender.example>"
    message.attach(MIMEText("This is an aggregate TLS report from sender.example"))
    attachment = MIMEApplication(
        gzip.compress(json.dumps(document).encode()), "tlsrpt+gzip", name="report.json.gz"
    )
    message.attach(attachment)
    raw = message.as_bytes().replace(b"\n", b"\r\n")
    if sign_with:
        headers = [b"from", b"to", b"subject", b"tls-report-domain", b"tls-report-submitter"]
        signature = dkim.sign(raw, b"tlsrpt", b"sender.example", sign_with, include_headers=headers)
        raw = signature + raw
    return raw
