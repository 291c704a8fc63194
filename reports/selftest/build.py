"""The self-test's report: a synthetic RFC 8460 report for one domain, shaped as Google
sends them (one ``sts`` policy, a day's range in UTC, a gzip attachment in a
``multipart/report; report-type=tlsrpt`` e-mail, RFC 8460 section 5.3).

It says it is a test twice over, in its organization and in its report-id; what makes the
ingest treat it as one is the ``SelfTest`` row holding that report-id. Pure functions:
no Django, no clock (the caller passes the time).
"""

import gzip
import json
from datetime import UTC, datetime, timedelta
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid
from typing import Any

ORGANIZATION = "TLS-RPT self-test"
REPORT_ID_PREFIX = "selftest-"
SUCCESSFUL = 9
FAILED = 1


def looks_like_self_test(organization: str, report_id: str) -> bool:
    """Whether a report carries both self-test marks (a row decides whether it is one)."""
    return organization == ORGANIZATION and report_id.startswith(REPORT_ID_PREFIX)


def self_test_report(*, domain: str, report_id: str, now: datetime) -> dict[str, Any]:
    """The report document: today (UTC) for ``domain``, a few sessions and one failure."""
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1) - timedelta(seconds=1)
    mx = f"mx.{domain}"
    return {
        "organization-name": ORGANIZATION,
        "date-range": {
            "start-datetime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end-datetime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "contact-info": "self-test@tlsrpt.invalid",
        "report-id": report_id,
        "policies": [
            {
                "policy": {
                    "policy-type": "sts",
                    "policy-string": [
                        "version: STSv1",
                        "mode: testing",
                        f"mx: {mx}",
                        "max_age: 86400",
                    ],
                    "policy-domain": domain,
                    "mx-host": [mx],
                },
                "summary": {
                    "total-successful-session-count": SUCCESSFUL,
                    "total-failure-session-count": FAILED,
                },
                "failure-details": [
                    {
                        "result-type": "certificate-expired",
                        "sending-mta-ip": "192.0.2.1",
                        "receiving-mx-hostname": mx,
                        "receiving-ip": "192.0.2.25",
                        "failed-session-count": FAILED,
                    }
                ],
            }
        ],
    }


def self_test_gzip(document: dict[str, Any]) -> bytes:
    """The report as ``application/tlsrpt+gzip``: what the HTTPS door takes, and the
    e-mail's attachment."""
    return gzip.compress(json.dumps(document).encode(), mtime=0)


def self_test_email(
    document: dict[str, Any], *, sender: str, to: str, submitter: str, now: datetime
) -> bytes:
    """The report e-mail, with CRLF line ends as it travels (so the bytes sent are the
    bytes the SMTP door stores)."""
    policy_domain = document["policies"][0]["policy"]["policy-domain"]
    report_id = document["report-id"]
    message = MIMEMultipart("report", report_type="tlsrpt")
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Subject"] = (
        f"Report Domain: {policy_domain} Submitter: {submitter} Report-ID: <{report_id}>"
    )
    message["TLS-Report-Domain"] = policy_domain
    message["TLS-Report-Submitter"] = submitter
    message["Message-ID"] = make_msgid(domain=submitter)
    message.attach(MIMEText(f"This is a self-test TLS report for {policy_domain}.\n"))
    attachment = MIMEApplication(self_test_gzip(document), "tlsrpt+gzip")
    attachment.add_header("Content-Disposition", "attachment", filename=_filename(document))
    message.attach(attachment)
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _filename(document: dict[str, Any]) -> str:
    """RFC 8460 section 5.3: ``sender!policy-domain!begin!end!id.json.gz``."""
    dates = document["date-range"]
    begin, end = (
        int(datetime.fromisoformat(dates[k].replace("Z", "+00:00")).timestamp())
        for k in ("start-datetime", "end-datetime")
    )
    domain = document["policies"][0]["policy"]["policy-domain"]
    return f"selftest!{domain}!{begin}!{end}!{document['report-id']}.json.gz"
