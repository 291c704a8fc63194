"""Typed results of the parser: what a TLS report (RFC 8460 section 4) and its carrier say."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

# Non-empty: a member blank or absent is None.
Given = Annotated[str, Meta(min_length=1)]


class FailureDetail(
    Struct, kw_only=True, rename="kebab", forbid_unknown_fields=True, omit_defaults=True, gc=False
):
    """One entry of ``failure-details`` (RFC 8460 section 4.3), its members as the RFC names them.

    A msgspec struct where the rest are dataclasses: the plain path (``parse_plain``)
    decodes the thousands of a large report straight into it. The class options and
    ``Given`` only shape that decoding (and its re-encoding, which checks for repeated
    keys); every other path builds it by keyword, from values already trimmed.
    """

    result_type: Given
    sending_mta_ip: Given | None = None
    receiving_mx_hostname: Given | None = None
    receiving_mx_helo: Given | None = None
    receiving_ip: Given | None = None
    failed_session_count: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    additional_information: Given | None = None
    failure_reason_code: Given | None = None


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
