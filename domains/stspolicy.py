"""Parsing and judging an MTA-STS policy file (RFC 8461 §3.2, §4.1).

Pure Python, no Django and no network: ``domains.stsfetch`` fetches the text. This module is
the leaf of the record grammar, so ``RecordError`` lives here and ``domains.records``
(which re-exports this module's API) builds on it.
"""

import re
from dataclasses import dataclass

from domains.findings import Finding, Level

MODES = ("enforce", "testing", "none")
MAX_AGE_LIMIT = 31557600  # one year, RFC 8461 §3.2
ONE_WEEK = 604800
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_MAX_AGE = re.compile(r"[0-9]{1,10}")
# A host name, or "*." and a host name: the wildcard may only be the whole left-most label.
_MX = re.compile(r"(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?")


class RecordError(ValueError):
    """A record or policy is invalid; ``code`` is stable, ``message`` safe to show.

    The same contract as the parser's ``TlsRptError`` (a report cannot be read), a different
    idea in a house that may not import it: ``domains`` never imports ``reports``, and the
    parser imports nothing of the project.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"RecordError({self.code!r}, {self.message!r})"


@dataclass(frozen=True)
class StsPolicy:
    version: str
    mode: str  # enforce | testing | none
    max_age: int  # seconds
    mx: tuple[str, ...]  # patterns, possibly "*.example.com"
    extensions: dict[str, str]  # unknown keys, ignored by senders


def parse_sts_policy(text: str) -> StsPolicy:
    """The policy served at ``mta-sts.<domain>``; raises ``RecordError`` (``sts_policy_*``)."""
    values, mx = _policy_lines(text)
    version = _required(values, "version", ("STSv1",), "sts_policy_bad_version")
    mode = _required(values, "mode", MODES, "sts_policy_bad_mode")
    max_age = _max_age(values)
    for pattern in mx:
        if not _MX.fullmatch(pattern):
            raise RecordError(
                "sts_policy_bad_mx",
                f"mx: {pattern!r} is not a host name or *.domain pattern (one per mx: line)",
            )
    if not mx and mode != "none":
        raise RecordError("sts_policy_no_mx", "it has no mx: line (required unless mode is none)")
    extensions = {k: v for k, v in values.items() if k not in ("version", "mode", "max_age")}
    return StsPolicy(version, mode, max_age, tuple(mx), extensions)


def _policy_lines(text: str) -> tuple[dict[str, str], list[str]]:
    """Values by key (the first of a repeated key wins) and every mx value, in order."""
    if text.startswith("\ufeff"):
        raise RecordError("sts_policy_invalid", "it starts with a byte-order mark")
    values: dict[str, str] = {}
    mx: list[str] = []
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.removesuffix("\r")
        if not line.strip():
            continue  # not in the grammar, but harmless: the final newline, blank lines
        key, colon, value = line.partition(":")
        if not colon or not _KEY.fullmatch(key):
            raise RecordError(
                "sts_policy_invalid", f"line {number} ({line[:40]!r}) is not a 'key: value' line"
            )
        if key == "mx":
            mx.append(value.strip(" \t"))
        else:
            values.setdefault(key, value.strip(" \t"))
    return values, mx


def _required(values: dict[str, str], key: str, allowed: tuple[str, ...], code: str) -> str:
    value = values.get(key)
    if value is None:
        # Keys are case-sensitive: "Mode: enforce" is an unknown key, ignored by senders.
        near = [k for k in values if k.lower() == key]
        hint = f" ({near[0]!r} does not count: keys are case-sensitive)" if near else ""
        raise RecordError(code, f"it has no {key}: line{hint}")
    if value not in allowed:
        raise RecordError(code, f"{key}: {value!r} is not {' or '.join(allowed)} (case-sensitive)")
    return value


def _max_age(values: dict[str, str]) -> int:
    value = values.get("max_age")
    if value is None:
        raise RecordError("sts_policy_bad_max_age", "it has no max_age: line")
    if not _MAX_AGE.fullmatch(value) or int(value) > MAX_AGE_LIMIT:
        raise RecordError(
            "sts_policy_bad_max_age",
            f"max_age: {value!r} is not a whole number of seconds from 0 to {MAX_AGE_LIMIT}",
        )
    return int(value)


def mx_pattern_matches(pattern: str, host: str) -> bool:
    """RFC 8461 §4.1: case-insensitive; ``*.`` stands for exactly one left-most label."""
    pattern, host = pattern.rstrip(".").lower(), host.rstrip(".").lower()
    if pattern.startswith("*."):
        label, dot, parent = host.partition(".")
        return bool(label and dot) and parent == pattern[2:]
    return pattern == host


def sts_policy_findings(policy: StsPolicy, *, domain: str, mx_hosts: list[str]) -> list[Finding]:
    """Judge a parsed policy against the domain's MX hosts."""
    url = f"https://mta-sts.{domain}/.well-known/mta-sts.txt"
    # Senders refetch a policy only when the id in the TXT record changes (RFC 8461 §3.3).
    bump = f"then change the id= in the TXT record at _mta-sts.{domain} so senders refetch it"
    if policy.mode == "none":
        return [_mode_none(url, domain=domain, bump=bump)]
    findings = _coverage_findings(policy, mx_hosts, url=url, bump=bump)
    if policy.mode == "testing":
        message = (
            f"The MTA-STS policy at {url} has mode: testing: senders report failures but "
            "still deliver without TLS."
        )
        fix = f"Once the TLS reports are clean, set mode: enforce, {bump}."
        findings.insert(0, Finding(Level.WARNING, "sts_policy_testing", message, fix))
    if policy.max_age < ONE_WEEK:
        message = (
            f"The MTA-STS policy at {url} has max_age: {policy.max_age}, under a week: senders "
            "forget it soon, which leaves room for a downgrade attack."
        )
        fix = f"Set max_age: {ONE_WEEK} (a week) or more, up to {MAX_AGE_LIMIT}, {bump}."
        findings.append(Finding(Level.WARNING, "sts_policy_short_max_age", message, fix))
    ok = f"The MTA-STS policy at {url} enforces TLS for every MX host."
    return findings or [Finding(Level.OK, "sts_policy_ok", ok)]


def _mode_none(url: str, *, domain: str, bump: str) -> Finding:
    message = f"The MTA-STS policy at {url} has mode: none, which withdraws MTA-STS protection."
    fix = (
        f"To protect mail, set mode: testing (later enforce) with an mx: line per MX host, "
        f"{bump}. If you are retiring MTA-STS, keep serving this policy until the old max_age "
        f"has passed, then delete the TXT record at _mta-sts.{domain}."
    )
    return Finding(Level.WARNING, "sts_policy_none", message, fix)


def _coverage_findings(
    policy: StsPolicy, mx_hosts: list[str], *, url: str, bump: str
) -> list[Finding]:
    uncovered = [h for h in mx_hosts if not any(mx_pattern_matches(p, h) for p in policy.mx)]
    if not uncovered:
        return []
    # Under enforce, STS senders refuse to deliver to an MX host the policy does not list.
    level = Level.ERROR if policy.mode == "enforce" else Level.WARNING
    effect = "will not deliver" if level == Level.ERROR else "report failures delivering"
    message = (
        f"The MTA-STS policy at {url} does not cover the MX host(s) {', '.join(uncovered)}, "
        f"so senders that apply it {effect} to them."
    )
    lines = "\n".join(f"mx: {host.rstrip('.').lower()}" for host in uncovered)
    fix = f"Add to the policy:\n{lines}\n{bump[0].upper()}{bump[1:]}."
    return [Finding(level, "sts_policy_mx_not_covered", message, fix)]
