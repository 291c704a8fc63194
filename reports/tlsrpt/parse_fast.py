"""The fast path of ``parse_report``: well-formed reports decoded by type, in C.

msgspec decodes the JSON straight into structs shaped like RFC 8460 section 4, checking
types and count ranges as it goes; Python then only normalizes strings. Anything the
structs do not describe exactly (an unknown member, a wrong type, an out-of-range count,
``\\u0000``, a lone surrogate, a blank required string, a bad date) makes this return
None, and the checking path in ``parse`` decides, with its precise error. So this path
never rejects a report, and a report it accepts is equal to what the checking path
builds (``tests/tlsrpt/test_parse_fast.py`` holds it to that).

Unknown members are refused, so a document decoded here nests at most ``DEPTH`` deep
and needs no separate depth walk.

msgspec, like every JSON library, keeps the last of a repeated key, and a report whose
object repeats a key means different things to different readers. Decoded here, every
member is a struct field and an absent one stays ``UNSET``, so encoding the structs again
writes each member once. Outside strings a colon only ends a key; inside them the raw
JSON and the encoding hold the same colons (a colon can be escaped only as
``\\u003a``, left to the checking path). So the raw JSON has as many colons as the
encoding unless a key is repeated, and then the checking path, whose JSON hook names
the key, decides.
"""

from typing import Annotated, Protocol

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from .limits import Limits
from .model import FailureDetail, Policy, Report
from .values import failure_detail, host_name, parse_datetime, policy_lines

_MAX_COUNT = 2**63 - 1
# report > policies > policy entry > failure-details > detail (or policy > policy-string)
DEPTH = 5

Count = Annotated[int, Meta(ge=0, le=_MAX_COUNT)]
# Optional members default to UNSET, not None: ``null`` and absent must encode apart.
Text = str | UnsetType | None
Strings = str | list[str] | UnsetType | None


class _Detail(Struct, forbid_unknown_fields=True, rename="kebab", gc=False):
    result_type: str
    failed_session_count: Count
    sending_mta_ip: Text = UNSET
    receiving_mx_hostname: Text = UNSET
    receiving_mx_host_name: Text = UNSET  # SocketLabs, 2020
    receiving_mx_helo: Text = UNSET
    receiving_ip: Text = UNSET
    additional_information: Text = UNSET
    additional_info_uri: Text = UNSET  # the RFC's prose name
    failure_reason_code: Text = UNSET


class PolicyFields(Struct, forbid_unknown_fields=True, rename="kebab"):
    policy_type: str
    policy_string: Strings = UNSET
    policy_domain: Text = UNSET
    mx_host: Strings = UNSET
    mx_host_pattern: Strings = UNSET  # the RFC's prose name


class Summary(Struct, forbid_unknown_fields=True, rename="kebab"):
    total_successful_session_count: Count
    total_failure_session_count: Count


class _Policy(Struct, forbid_unknown_fields=True, rename="kebab"):
    policy: PolicyFields
    summary: Summary
    failure_details: list[_Detail] | UnsetType | None = UNSET


class DateRange(Struct, forbid_unknown_fields=True, rename="kebab"):
    start_datetime: str
    end_datetime: str


class _Report(Struct, forbid_unknown_fields=True, rename="kebab"):
    organization_name: str
    date_range: DateRange
    report_id: str
    policies: list[_Policy]
    contact_info: Text = UNSET


_DECODER = msgspec.json.Decoder(_Report)
_ENCODER = msgspec.json.Encoder()


class NotFast(Exception):
    """Something the checking path must look at."""


def report_or_none(raw: bytes, limits: Limits) -> Report | None:
    """The report in ``raw`` (BOM already removed), or None to take the checking path."""
    if limits.max_json_depth < DEPTH or b"\\u0000" in raw or b"\\u003" in raw:
        return None  # NUL, which the checking path replaces; an escaped colon (_keys_once)
    try:
        decoded = _DECODER.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None
    if not _keys_once(raw, decoded):
        return None  # perhaps a repeated key: the checking path tells
    details = sum(len(p.failure_details or ()) for p in decoded.policies)
    if details > limits.max_failure_details:
        return None  # the checking path refuses it before building anything
    try:
        return _report(decoded)
    except NotFast:
        return None


def _keys_once(raw: bytes, decoded: _Report) -> bool:
    """Whether no object of ``raw`` (no escaped colon in it) repeats a key."""
    return raw.count(b":") == _ENCODER.encode(decoded).count(b":")


def _report(doc: _Report) -> Report:
    policies = [policy_from(p, [_detail(d) for d in p.failure_details or ()]) for p in doc.policies]
    return report_from(doc, policies)


class Head(Protocol):
    """A decoded report's own members, whichever structs hold its policies."""

    organization_name: str
    date_range: DateRange
    report_id: str
    contact_info: Text


class Entry(Protocol):
    """A decoded policy entry's ``policy`` and ``summary``."""

    policy: PolicyFields
    summary: Summary


def report_from(doc: Head, policies: list[Policy]) -> Report:
    """The report of ``doc``'s members, trimmed, with its ``policies``; or ``NotFast``."""
    start = parse_datetime(doc.date_range.start_datetime)
    end = parse_datetime(doc.date_range.end_datetime)
    if start is None or end is None:
        raise NotFast
    return Report(
        organization_name=_required(doc.organization_name),
        start=start,
        end=end,
        contact_info=(doc.contact_info.strip() or None) if doc.contact_info else None,
        report_id=_required(doc.report_id),
        policies=policies,
    )


def policy_from(entry: Entry, details: list[FailureDetail]) -> Policy:
    """The policy of ``entry``, its host names normalized, with its failure ``details``."""
    fields = entry.policy
    mx = fields.mx_host if fields.mx_host is not UNSET else fields.mx_host_pattern
    domain = fields.policy_domain
    return Policy(
        policy_type=_required(fields.policy_type).lower(),
        policy_strings=policy_lines(_listed(fields.policy_string)),
        policy_domain=host_name(domain) if domain else None,
        mx_hosts=[h for h in map(host_name, _listed(mx)) if h],
        successful=entry.summary.total_successful_session_count,
        failed=entry.summary.total_failure_session_count,
        failure_details=details,
    )


def _detail(d: _Detail) -> FailureDetail:
    result_type = d.result_type.strip()
    if not result_type:
        raise NotFast
    ip, helo, receiving_ip = d.sending_mta_ip, d.receiving_mx_helo, d.receiving_ip
    mx = d.receiving_mx_hostname
    if mx is None or mx is UNSET:
        mx = d.receiving_mx_host_name
    info = d.additional_information
    if info is None or info is UNSET:
        info = d.additional_info_uri
    reason = d.failure_reason_code
    return failure_detail(
        result_type, ip, mx, helo, receiving_ip, d.failed_session_count, info, reason
    )


def _required(value: str) -> str:
    value = value.strip()
    if not value:
        raise NotFast
    return value


def _listed(value: str | list[str] | UnsetType | None) -> list[str]:
    if value is None or value is UNSET:
        return []
    return [value] if isinstance(value, str) else value
