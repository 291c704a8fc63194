"""Field values as both parsing paths normalize them: host names, dates, policy lines."""

import json
from datetime import UTC, datetime
from typing import Any

from .errors import TlsRptError
from .model import FailureDetail


def host_name(value: str) -> str | None:
    """A DNS name as compared everywhere: lower case, no trailing dot."""
    return value.strip().rstrip(".").lower() or None


def parse_datetime(value: str) -> datetime | None:
    """An RFC 3339 date-time in UTC; no zone means UTC (Microsoft, 2023 and 2024)."""
    text = value.strip().upper()
    # A date alone would put an end-datetime at the start of its day: refuse it.
    if len(text) < 16 or text[10] not in "T ":
        return None
    if text[17:19] == "60":
        text = f"{text[:17]}59{text[19:]}"  # a leap second, which datetime cannot hold
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def policy_lines(items: list[str]) -> list[str]:
    """The lines of a ``policy-string`` array, as senders' quirks require."""
    lines: list[str] = []
    for item in items:
        # Microsoft sends TLSA records as one string holding a JSON array of them.
        if item.startswith("[") and item.endswith("]"):
            expanded = _json_string_array(item)
            if expanded is not None:
                lines += (line.rstrip() for line in expanded)
                continue
        # Google once copied the policy file's CRLF line ends into each line.
        lines.append(item.rstrip())
    return [line for line in lines if line]


def _json_string_array(text: str) -> list[str] | None:
    try:
        value = json.loads(text, parse_constant=reject_constant)
    except (ValueError, RecursionError, TlsRptError):
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def reject_constant(name: str) -> Any:
    raise TlsRptError("json_invalid", f"The report is not valid JSON: {name} is not allowed.")


def failure_detail(
    result_type: str,
    ip: Any,
    mx: Any,
    helo: Any,
    receiving_ip: Any,
    count: int,
    info: Any,
    reason: Any,
) -> FailureDetail:
    """A failure detail from its raw values, trimmed; host names lower case, no dot.

    ``receiving-mx-helo`` stays verbatim (Postfix sends its whole multi-line EHLO answer,
    whose case and line ends are the MX's own); blank means not given.

    Raises AttributeError when a value that must be a string is not one.
    """
    return FailureDetail(
        result_type=result_type,
        sending_mta_ip=(ip.strip() or None) if ip else None,
        receiving_mx_hostname=(mx.strip().rstrip(".").lower() or None) if mx else None,
        receiving_mx_helo=helo if helo and not helo.isspace() else None,
        receiving_ip=(receiving_ip.strip() or None) if receiving_ip else None,
        failed_session_count=count,
        additional_information=(info.strip() or None) if info else None,
        failure_reason_code=(reason.strip() or None) if reason else None,
    )
