"""The senders of the demo's generated reports, and the bytes each one would send.

Each reporter writes its report the way the real one does (organization name, report-id
shape, date range, contact, which optional fields it fills) so the pages show what a
customer sees: Google's ``<start>_<domain>`` ids, Mail.ru's midnight-to-midnight range,
the Postfix reporter's ``_idx`` ids, a small server with a null contact.
"""

import base64
import gzip
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any


@dataclass(frozen=True)
class Reporter:
    key: str
    organization: str
    contact: str | None
    submitter: str
    share: float  # of a domain's daily sessions this sender delivers
    sending_ips: tuple[str, ...]
    by_email: bool = True  # else POSTed over HTTPS as gzipped JSON
    reports_on: float = 1.0  # the share of days it sends a report at all
    silent_for_days: int = 0  # stopped reporting this many days ago


REPORTERS = (
    Reporter(
        "google", "Google Inc.", "smtp-tls-reporting@google.com", "google.com", 0.55,
        ("209.85.220.41", "209.85.220.69", "2a00:1450:4864:20::535"),
    ),
    Reporter(
        "microsoft", "Microsoft Corporation", "tlsrpt-noreply@microsoft.com",
        "microsoft.com", 0.28, ("40.107.22.87", "2a01:111:f403:2612::700"),
    ),
    Reporter(
        "mailru", "Mail.ru", "tls_support@corp.mail.ru", "mail.ru", 0.07,
        ("94.100.180.31", "217.69.139.202"),
    ),
    Reporter(
        "postfix", "mx.hosting-provider.de", "smtp-tls-reporting@mx.hosting-provider.de",
        "mx.hosting-provider.de", 0.07, ("85.215.76.12",),
    ),
    Reporter(
        "small", "mail.smallbiz.net", None, "mail.smallbiz.net", 0.03, ("198.51.100.77",),
        by_email=False, reports_on=0.7, silent_for_days=31,
    ),
)  # fmt: skip


@dataclass
class Sessions:
    """One reporter's sessions for one domain on one day, and the failures among them."""

    successful: int
    failures: list[dict[str, Any]]

    @property
    def failed(self) -> int:
        return sum(f["failed-session-count"] for f in self.failures)


def report_document(
    reporter: Reporter,
    *,
    domain: str,
    day: date,
    mx: list[str],
    sessions: Sessions,
    rng: random.Random,
) -> dict[str, Any]:
    """The RFC 8460 JSON this reporter sends about ``domain`` for ``day``."""
    start = f"{day.isoformat()}T00:00:00Z"
    if reporter.key == "mailru":
        end = f"{(day + timedelta(days=1)).isoformat()}T00:00:00Z"
    else:
        end = f"{day.isoformat()}T23:59:59Z"
    policy: dict[str, Any] = {
        "policy-type": "sts",
        "policy-string": ["version: STSv1", "mode: enforce", *[f"mx: {h}" for h in mx],
                          "max_age: 604800"],
        "policy-domain": domain,
    }  # fmt: skip
    if reporter.key in ("google", "postfix"):
        policy["mx-host"] = list(mx)
    document: dict[str, Any] = {
        "organization-name": reporter.organization,
        "date-range": {"start-datetime": start, "end-datetime": end},
        "contact-info": reporter.contact,
        "report-id": _report_id(reporter, domain, day, rng),
        "policies": [
            {
                "policy": policy,
                "summary": {
                    "total-successful-session-count": sessions.successful,
                    "total-failure-session-count": sessions.failed,
                },
                "failure-details": sessions.failures,
            }
        ],
    }
    return document


def _report_id(reporter: Reporter, domain: str, day: date, rng: random.Random) -> str:
    if reporter.key == "google":
        return f"{day.isoformat()}T00:00:00Z_{domain}"
    if reporter.key == "postfix":
        return f"{day.isoformat()}T00:00:00Z_idx{rng.randrange(1, 40)}_{domain}"
    if reporter.key == "microsoft":
        return f"{rng.getrandbits(60):018d}+{domain}"
    token = str(uuid.UUID(int=rng.getrandbits(128)))
    return f"{token}@mail.ru" if reporter.key == "mailru" else token


def report_bytes(
    reporter: Reporter, document: dict[str, Any], *, day: date, rng: random.Random
) -> bytes:
    """What arrives: an RFC 8460 email (a gzipped JSON attachment) or a gzipped POST body."""
    domain = document["policies"][0]["policy"]["policy-domain"]
    begin = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    name = f"{reporter.submitter}!{domain}!{begin}!{begin + 86399}.json.gz"  # RFC 8460 5.1
    body = gzip.compress(json.dumps(document, indent=1).encode(), mtime=0)
    if not reporter.by_email:
        return body
    sent = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        days=1, hours=2, minutes=rng.randrange(300)
    )
    boundary = f"=_{rng.getrandbits(64):016x}"
    headers = {
        "From": f"TLS reporting <{reporter.contact or 'noreply@' + reporter.submitter}>",
        "To": f"tlsrpt@{domain}",
        "Date": format_datetime(sent),
        "Subject": f"Report Domain: {domain} Submitter: {reporter.submitter} "
        f"Report-ID: <{document['report-id']}>",
        "TLS-Report-Domain": domain,
        "TLS-Report-Submitter": reporter.submitter,
        "Message-ID": f"<{rng.getrandbits(64):x}.{day:%Y%m%d}@{reporter.submitter}>",
        "MIME-Version": "1.0",
        "Content-Type": f'multipart/report; report-type="tlsrpt"; boundary="{boundary}"',
    }
    # Written out rather than with email.mime: the generator costs more than the rest of
    # the demo's ingest together.
    attachment = base64.encodebytes(body).decode()
    text = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + (
        f"\r\n--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"This is an aggregate TLS report from {reporter.submitter}.\r\n"
        f'\r\n--{boundary}\r\nContent-Type: application/tlsrpt+gzip; name="{name}"\r\n'
        f'Content-Disposition: attachment; filename="{name}"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{attachment.replace(chr(10), chr(13) + chr(10))}"
        f"\r\n--{boundary}--\r\n"
    )
    return text.encode()
