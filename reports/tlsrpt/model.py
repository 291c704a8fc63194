"""Typed results of the parser: what a TLS report (RFC 8460 section 4) and its carrier say."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class FailureDetail:
    result_type: str
    sending_mta_ip: str | None
    receiving_mx_hostname: str | None
    receiving_mx_helo: str | None
    receiving_ip: str | None
    failed_session_count: int
    additional_information: str | None
    failure_reason_code: str | None


@dataclass(slots=True)
class Policy:
    policy_type: str
    policy_strings: list[str]
    policy_domain: str | None
    mx_hosts: list[str]
    successful: int
    failed: int
    failure_details: list[FailureDetail]


@dataclass(slots=True)
class Report:
    organization_name: str
    start: datetime
    end: datetime
    contact_info: str | None
    report_id: str
    policies: list[Policy]


@dataclass(slots=True)
class HeaderFacts:
    """What the carrying e-mail says about itself (RFC 8460 section 5.3)."""

    tls_report_domain: str | None
    tls_report_submitter: str | None
    subject_report_id: str | None
    from_address: str | None
    message_id: str | None
    # pass / fail / none / temperror; None when DKIM was not checked.
    dkim_result: str | None
    dkim_domain: str | None


@dataclass(slots=True)
class FoundReport:
    report: Report
    # The decompressed JSON bytes exactly as sent.
    raw_json: bytes
    filename: str | None


@dataclass(slots=True)
class Envelope:
    # None when the input was a bare report (JSON, gzip, zip), not an e-mail.
    headers: HeaderFacts | None
    reports: list[FoundReport]
