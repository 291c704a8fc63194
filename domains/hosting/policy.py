"""The text of a hosted MTA-STS policy and the rules for what goes in it (RFC 8461).

Pure Python, no Django: the policy file (§3.2), its mx patterns (§4.1), the policy id
(§3.1) and the recommended ``max_age`` ramp.
"""

from dataclasses import dataclass
from datetime import datetime

from domains.names import DomainNameError, normalize_domain
from domains.stspolicy import MAX_AGE_LIMIT, MODES, mx_pattern_matches

ONE_DAY = 86400
ONE_WEEK = 7 * ONE_DAY
THIRTY_DAYS = 30 * ONE_DAY
MAX_ID_LENGTH = 32  # RFC 8461 §3.1: 1-32 letters and digits


class PolicyError(ValueError):
    """A value cannot go into a policy; ``code`` is stable, the message safe to show."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PolicyContent:
    """What a sender reads: the mode, the mx patterns and how long to keep the policy."""

    mode: str
    mx: tuple[str, ...]
    max_age: int


def policy_text(content: PolicyContent) -> str:
    """The policy file: ``version: STSv1`` first, one ``mx:`` line per pattern, CRLF ends."""
    lines = ["version: STSv1", f"mode: {content.mode}"]
    lines += [f"mx: {pattern}" for pattern in content.mx]
    lines.append(f"max_age: {content.max_age}")
    return "".join(f"{line}\r\n" for line in lines)


def mx_pattern_normalize(value: str) -> str:
    """A host name or ``*.`` and a host name, lower-case A-labels; PolicyError if neither."""
    text = value.strip()
    wildcard = text.startswith("*.")
    try:
        name = normalize_domain(text[2:] if wildcard else text)
    except DomainNameError:
        raise PolicyError(
            "mx_invalid",
            f"{value[:80]!r} is not a host name or a *.-prefixed host name (e.g. "
            "mx1.example.com or *.mail.example.com).",
        ) from None
    return f"*.{name}" if wildcard else name


def mx_patterns_normalize(values: list[str], *, mode: str) -> tuple[str, ...]:
    """Each pattern normalised, duplicates dropped in order; at least one unless mode none."""
    patterns = tuple(dict.fromkeys(mx_pattern_normalize(v) for v in values if v.strip()))
    if not patterns and mode != "none":
        raise PolicyError("mx_missing", "List at least one mx pattern (unless the mode is none).")
    return patterns


def mode_validate(mode: str) -> str:
    if mode not in MODES:
        raise PolicyError("mode_invalid", f"The mode is one of {', '.join(MODES)}.")
    return mode


def max_age_validate(value: int) -> int:
    if not 1 <= value <= MAX_AGE_LIMIT:
        raise PolicyError(
            "max_age_invalid", f"max_age is a whole number of seconds from 1 to {MAX_AGE_LIMIT}."
        )
    return value


@dataclass(frozen=True)
class Coverage:
    """MX hosts no pattern covers, and patterns that cover no MX host."""

    uncovered_hosts: tuple[str, ...]
    unused_patterns: tuple[str, ...]


def mx_coverage(patterns: tuple[str, ...] | list[str], mx_hosts: list[str]) -> Coverage:
    uncovered = tuple(h for h in mx_hosts if not any(mx_pattern_matches(p, h) for p in patterns))
    unused = tuple(p for p in patterns if not any(mx_pattern_matches(p, h) for h in mx_hosts))
    return Coverage(uncovered, unused)


def policy_id_for(moment: datetime, taken: set[str]) -> str:
    """The UTC time's digits (``20261205073000``), with a counter when that id is taken."""
    base = moment.strftime("%Y%m%d%H%M%S")
    candidate, counter = base, 1
    while candidate in taken:
        candidate = f"{base}{counter}"
        counter += 1
    return candidate[:MAX_ID_LENGTH]


def recommended_max_age(mode: str, enforced_for_days: int | None) -> tuple[int, str]:
    """The ramp: a day while testing and in the first week of enforce, then a week, then 30 days.

    Senders keep a policy until its max_age runs out, so a short one at first keeps a
    mistake short.
    """
    if mode != "enforce" or enforced_for_days is None or enforced_for_days < 7:
        return ONE_DAY, "1 day while testing and in the first week of enforce"
    if enforced_for_days < 30:
        return ONE_WEEK, "1 week once enforce has run cleanly for a week"
    return THIRTY_DAYS, "30 days or more once enforce has run cleanly for a month"
