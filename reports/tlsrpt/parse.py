"""Turn the JSON of one TLS report (RFC 8460 section 4) into a ``Report``.

Lenient exactly where real senders deviate (see the corpus's SOURCES.md, "Quirks"):
``mx-host`` as a string or array and the prose name ``mx-host-pattern``;
``additional-info-uri`` and SocketLabs' ``receiving-mx-host-name``; missing
``policy-domain``, ``policy-string``, ``sending-mta-ip`` and ``receiving-*``;
``contact-info: null``; date-times without a zone (Microsoft) taken as UTC; Microsoft's
TLSA ``policy-string`` holding one JSON-encoded array; policy lines ending in ``\\r``
(Google, 2022). Strict where the numbers would be wrong: counts are JSON integers in
0..2**63-1, and the fields every report needs are required, with errors naming the path.
"""

import json
from datetime import datetime
from typing import Any

from .errors import TlsRptError
from .limits import Limits
from .model import FailureDetail, Policy, Report
from .parse_fast import report_or_none
from .parse_plain import plain_report_or_none
from .values import failure_detail, host_name, parse_datetime, policy_lines, reject_constant

MAX_COUNT = 2**63 - 1
_BOM = b"\xef\xbb\xbf"
# More digits than 2**63 - 1 has: out of range whatever they say, so never converted
# (which also avoids int()'s 4300-digit guard and its cost).
_MAX_COUNT_DIGITS = len(str(MAX_COUNT))


class _OutOfRange:
    """Stands in for an integer literal too long to be a count."""


_OUT_OF_RANGE = _OutOfRange()
_CONTAINERS = (dict, list)


def parse_report(raw: bytes, limits: Limits) -> Report:
    """The report in ``raw`` (UTF-8 JSON, optional BOM), or ``TlsRptError``.

    A plain report (minified ASCII, values as stored) takes the plain path, another
    well-formed one the typed fast path; anything else the checking path, which builds
    the same report or names what is wrong.
    """
    body = raw.removeprefix(_BOM)
    fast = plain_report_or_none(body, limits)
    if fast is None:
        fast = report_or_none(body, limits)
    return fast if fast is not None else parse_report_checked(raw, limits)


def parse_report_checked(raw: bytes, limits: Limits) -> Report:
    """``parse_report`` by the checking path alone, in plain Python."""
    document = load_json(raw, limits)
    if not isinstance(document, dict):
        raise _schema("report", "must be a JSON object")
    return _report(document, limits)


def load_json(raw: bytes, limits: Limits) -> Any:
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TlsRptError("encoding_invalid", "The report is not valid UTF-8.") from e
    try:
        document = _loads(text, limits)
    except ValueError:
        # int() refuses literals over 4300 digits; read those as out of range instead,
        # so they fail as counts. Only this rare retry pays for a Python call per integer.
        document = _loads(text, limits, parse_int=_parse_int)
    if not _depth_within(document, limits.max_json_depth):
        raise _too_deep(limits)
    if "\\u0000" in text:
        # No report field can mean NUL, and PostgreSQL text and jsonb cannot hold it.
        document = _without_nul(document)
    return document


def _without_nul(value: Any) -> Any:
    if type(value) is str:
        return value.replace("\x00", "\ufffd")
    if type(value) is dict:
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if type(value) is list:
        return [_without_nul(v) for v in value]
    return value


def _loads(text: str, limits: Limits, **hooks: Any) -> Any:
    try:
        return json.loads(
            text, parse_constant=reject_constant, object_pairs_hook=_unique_keys, **hooks
        )
    except RecursionError as e:
        raise _too_deep(limits) from e
    except json.JSONDecodeError as e:
        # Its message has a position, no content.
        raise TlsRptError("json_invalid", f"The report is not valid JSON: {e}") from e


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object, refused when it repeats a key: readers would disagree on its value."""
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                break
            seen.add(key)
        raise TlsRptError(
            "json_duplicate_key",
            f"The report repeats the key {json.dumps(key[:100])} in one object, so "
            "readers would disagree on its value.",
        )
    return document


def _parse_int(literal: str) -> int | _OutOfRange:
    digits = len(literal) - literal.startswith("-")
    return _OUT_OF_RANGE if digits > _MAX_COUNT_DIGITS else int(literal)


def _depth_within(document: Any, limit: int) -> bool:
    """Whether containers nest at most ``limit`` deep; level by level, so no recursion."""
    level = [document] if type(document) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return False
        level = [
            child
            for node in level
            for child in (node.values() if type(node) is dict else node)
            if type(child) in _CONTAINERS
        ]
    return True


def _too_deep(limits: Limits) -> TlsRptError:
    return TlsRptError(
        "json_too_deep", f"The report nests deeper than {limits.max_json_depth} levels."
    )


def _schema(path: str, problem: str) -> TlsRptError:
    return TlsRptError("schema_invalid", f"{path}: {problem}")


def _report(doc: dict[str, Any], limits: Limits) -> Report:
    date_range = _object(doc, "date-range", "date-range")
    policies = doc.get("policies")
    if not isinstance(policies, list):
        raise _schema("policies", "is required" if policies is None else "must be an array")
    _check_detail_total(policies, limits)
    return Report(
        organization_name=_required_text(doc, "organization-name", "organization-name"),
        start=_datetime(date_range, "start-datetime", "date-range.start-datetime"),
        end=_datetime(date_range, "end-datetime", "date-range.end-datetime"),
        contact_info=_text(doc, "contact-info", "contact-info"),
        report_id=_required_text(doc, "report-id", "report-id"),
        policies=[_policy(p, f"policies[{i}]") for i, p in enumerate(policies)],
    )


def _check_detail_total(policies: list[Any], limits: Limits) -> None:
    """Refuse before building anything: objects cost far more than their JSON."""
    total = 0
    for policy in policies:
        details = policy.get("failure-details") if isinstance(policy, dict) else None
        if isinstance(details, list):
            total += len(details)
    if total > limits.max_failure_details:
        raise TlsRptError(
            "too_many_failure_details",
            f"The report has {total} failure details; at most "
            f"{limits.max_failure_details} are accepted.",
        )


def _policy(entry: Any, path: str) -> Policy:
    if not isinstance(entry, dict):
        raise _schema(path, "must be an object")
    policy = _object(entry, "policy", f"{path}.policy")
    summary = _object(entry, "summary", f"{path}.summary")
    mx_key = "mx-host" if "mx-host" in policy else "mx-host-pattern"
    return Policy(
        policy_type=_required_text(policy, "policy-type", f"{path}.policy.policy-type").lower(),
        policy_strings=_policy_strings(policy.get("policy-string"), f"{path}.policy.policy-string"),
        policy_domain=_host(policy, "policy-domain", f"{path}.policy.policy-domain"),
        mx_hosts=_hosts(policy.get(mx_key), f"{path}.policy.{mx_key}"),
        successful=_count(summary, "total-successful-session-count", f"{path}.summary"),
        failed=_count(summary, "total-failure-session-count", f"{path}.summary"),
        failure_details=_details(entry.get("failure-details"), f"{path}.failure-details"),
    )


def _policy_strings(value: Any, path: str) -> list[str]:
    return policy_lines(_string_list(value, path))


def _hosts(value: Any, path: str) -> list[str]:
    hosts = (host_name(item) for item in _string_list(value, path))
    return [h for h in hosts if h]


def _string_list(value: Any, path: str) -> list[str]:
    """An array of strings; a lone string (the RFC's own example) or null also do."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise _schema(path, "must be an array of strings")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise _schema(f"{path}[{i}]", "must be a string")
    return value


def _details(value: Any, path: str) -> list[FailureDetail]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _schema(path, "must be an array")
    details = []
    for i, item in enumerate(value):
        fast = _detail_fast(item) if type(item) is dict else None
        details.append(fast if fast is not None else _detail(item, f"{path}[{i}]"))
    return details


def _detail_fast(item: dict[str, Any]) -> FailureDetail | None:
    """A well-formed failure detail in one pass, or None: ``_detail`` then names the error.

    Large reports carry thousands of details; building error paths for each is most of
    the cost, so they are only built when something is wrong.
    """
    get = item.get
    result_type, count = get("result-type"), get("failed-session-count")
    if type(result_type) is not str or type(count) is not int or not 0 <= count <= MAX_COUNT:
        return None
    mx = get("receiving-mx-hostname")
    if mx is None:
        mx = get("receiving-mx-host-name")  # SocketLabs, 2020
    info = get("additional-information")
    if info is None:
        info = get("additional-info-uri")  # the RFC's prose name
    ip, helo, receiving_ip = get("sending-mta-ip"), get("receiving-mx-helo"), get("receiving-ip")
    reason = get("failure-reason-code")
    result_type = result_type.strip()
    if not result_type:
        return None
    try:
        return failure_detail(result_type, ip, mx, helo, receiving_ip, count, info, reason)
    except AttributeError:
        return None  # a field that is not a string: the checking path says which


def _detail(item: Any, path: str) -> FailureDetail:
    if not isinstance(item, dict):
        raise _schema(path, "must be an object")
    mx_key = "receiving-mx-hostname"
    if mx_key not in item and "receiving-mx-host-name" in item:
        mx_key = "receiving-mx-host-name"  # SocketLabs, 2020
    info_key = "additional-information"
    if info_key not in item and "additional-info-uri" in item:
        info_key = "additional-info-uri"  # the RFC's prose name
    return FailureDetail(
        result_type=_required_text(item, "result-type", f"{path}.result-type"),
        sending_mta_ip=_text(item, "sending-mta-ip", f"{path}.sending-mta-ip"),
        receiving_mx_hostname=_host(item, mx_key, f"{path}.{mx_key}"),
        receiving_mx_helo=_verbatim(item, "receiving-mx-helo", f"{path}.receiving-mx-helo"),
        receiving_ip=_text(item, "receiving-ip", f"{path}.receiving-ip"),
        failed_session_count=_count(item, "failed-session-count", path),
        additional_information=_text(item, info_key, f"{path}.{info_key}"),
        failure_reason_code=_text(item, "failure-reason-code", f"{path}.failure-reason-code"),
    )


def _object(parent: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = parent.get(key)
    if isinstance(value, dict):
        return value
    raise _schema(path, "is required" if value is None else "must be an object")


def _required_text(parent: dict[str, Any], key: str, path: str) -> str:
    value = parent.get(key)
    if value is None:
        raise _schema(path, "is required")
    if not isinstance(value, str) or not value.strip():
        raise _schema(path, "must be a non-empty string")
    return value.strip()


def _text(parent: dict[str, Any], key: str, path: str) -> str | None:
    """An optional string: missing, null and empty all mean "not given"."""
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _schema(path, "must be a string")
    return value.strip() or None


def _verbatim(parent: dict[str, Any], key: str, path: str) -> str | None:
    """An optional string kept exactly as sent; missing, null and blank mean "not given"."""
    value = parent.get(key)
    if value is not None and not isinstance(value, str):
        raise _schema(path, "must be a string")
    return value if value and not value.isspace() else None


def _host(parent: dict[str, Any], key: str, path: str) -> str | None:
    value = _text(parent, key, path)
    return host_name(value) if value else None


def _count(parent: dict[str, Any], key: str, path: str) -> int:
    value = parent.get(key)
    # bool is an int subclass: true must not count as 1.
    if type(value) is int and 0 <= value <= MAX_COUNT:
        return value
    if value is None:
        raise _schema(f"{path}.{key}", "is required")
    if value is _OUT_OF_RANGE or (type(value) is int and value > MAX_COUNT):
        raise _schema(f"{path}.{key}", "must be a non-negative integer below 2^63")
    raise _schema(f"{path}.{key}", "must be a non-negative integer")


def _datetime(parent: dict[str, Any], key: str, path: str) -> datetime:
    value = parent.get(key)
    if value is None:
        raise _schema(path, "is required")
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise _schema(path, "must be an RFC 3339 date-time")
    return parsed
