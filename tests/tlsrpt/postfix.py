"""Reports shaped like those of Postfix 3.10+ through sys4's tlsrpt-reporter.

Built by RFC 8460 section 4 in the shape of the corpus's sys4 file
(``sys4-tlsrpt-reporter-*.json``): ``summary`` before ``policy``, ``policies`` before
``report-id``, ``failure-details`` present even when empty, the reporting host as
organization, report-id ``<date>_idx1_<domain>``. Postfix reports each session once,
under the policy it applied: DANE (``tlsa``) per MX host, whose TLSA records are at
``_25._tcp.<mx>``, so its policy-domain is the MX host; MTA-STS (``sts``) for the domain.
Its ``receiving-mx-helo`` is the MX's whole multi-line EHLO answer.
"""

import json
from datetime import datetime
from typing import Any

EHLO = (
    "250-mx1.{domain}\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-ETRN\r\n"
    "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING"
)
TLSA = "3 1 1 8A8C3B1E4E2B1D8B0F5E0C36E6A5A0D9D3C4B6F2E1A7C8D9E0F1A2B3C4D5E6F7"


def postfix_report(
    domain: str = "example.com",
    *,
    day: str = "2025-10-01",
    dane: tuple[int, int] = (110, 10),
    sts: tuple[int, int] = (70, 10),
    helo: str | None = None,
) -> dict[str, Any]:
    """One day's report for ``domain``: ``dane`` and ``sts`` are (successful, failed).

    DANE failures are ``tlsa-invalid`` at mx1, MTA-STS ones ``certificate-expired`` at
    mx2; a policy without failures still carries ``failure-details: []``.
    """
    return {
        "organization-name": "mail.sender.example",
        "date-range": {"start-datetime": f"{day}T00:00:00Z", "end-datetime": f"{day}T23:59:59Z"},
        "contact-info": "smtp-tls-reporting@mail.sender.example",
        "policies": [
            _policy(
                {"policy-type": "tlsa", "policy-string": [TLSA], "policy-domain": f"mx1.{domain}"},
                dane, "tlsa-invalid", f"mx1.{domain}", helo or EHLO.format(domain=domain),
            ),
            _policy(
                {
                    "policy-type": "sts",
                    "policy-string": ["version: STSv1", "mode: enforce", "max_age: 604800",
                                      f"mx: mx1.{domain}", f"mx: mx2.{domain}"],
                    "policy-domain": domain,
                    "mx-host": [f"mx1.{domain}", f"mx2.{domain}"],
                },
                sts, "certificate-expired", f"mx2.{domain}", f"mx2.{domain}",
            ),
        ],
        "report-id": f"{day}T00:00:00Z_idx1_{domain}",
    }  # fmt: skip


def _policy(
    fields: dict[str, Any], counts: tuple[int, int], result: str, mx: str, helo: str
) -> dict[str, Any]:
    successful, failed = counts
    details = []
    if failed:
        details.append(
            {
                "result-type": result,
                "sending-mta-ip": "192.0.2.25",
                "receiving-mx-hostname": mx,
                "receiving-mx-helo": helo,
                "receiving-ip": "198.51.100.25",
                "failed-session-count": failed,
            }
        )
    return {
        "summary": {
            "total-failure-session-count": failed,
            "total-successful-session-count": successful,
        },
        "policy": fields,
        "failure-details": details,
    }


def postfix_json(domain: str = "example.com", **kwargs: Any) -> bytes:
    """The report as tlsrpt-reporter writes it: pretty-printed JSON."""
    return json.dumps(postfix_report(domain, **kwargs), indent=2).encode()


def postfix_filename(domain: str = "example.com", day: str = "2025-10-01") -> str:
    """Its RFC 8460 section 5.1 file name (the e-mail attachment's name)."""
    start = int(datetime.fromisoformat(f"{day}T00:00:00+00:00").timestamp())
    return f"mail.sender.example!{domain}!{start}!{start + 86399}!idx1.json.gz"
