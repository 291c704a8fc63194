"""Parsing and judging the DNS records of a mail domain's TLS reporting set-up.

Pure Python, no Django and no DNS: callers look the records up and pass their text in.
Covers the TLS-RPT record at ``_smtp._tls.<domain>`` (RFC 8460 §3) and the MTA-STS record
at ``_mta-sts.<domain>`` (RFC 8461 §3.1). The MTA-STS policy file lives in
``domains.stspolicy`` and is re-exported here. Parsers raise ``RecordError`` with a stable
code; the ``*_findings`` functions turn what was found into ``Finding``s with a fix.
"""

import difflib
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from domains.findings import Finding, Level
from domains.stspolicy import (
    RecordError,
    StsPolicy,
    mx_pattern_matches,
    parse_sts_policy,
    sts_policy_findings,
)

__all__ = [
    "RecordError",
    "StsPolicy",
    "TlsRptRecord",
    "mx_pattern_matches",
    "parse_sts_policy",
    "parse_sts_record",
    "parse_tlsrpt_record",
    "sts_policy_findings",
    "sts_record_findings",
    "tlsrpt_findings",
]

TLSRPT_VERSION = "v=TLSRPTv1"
STS_VERSION = "v=STSv1"
# RFC 8460 §3 / RFC 8461 §3.1: field-delim = *WSP ";" *WSP
_DELIM = re.compile(r"[ \t]*;[ \t]*")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+")  # printable ASCII but "=", ";", SP
# RFC 3986 characters less "," and ";", which RFC 8460 makes delimiters.
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+=%]+")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# DMARC's "!10m" size limit, which TLS-RPT does not have.
_SIZE_SUFFIX = re.compile(r"![0-9]+[kmgt]?$", re.IGNORECASE)
_STS_ID = re.compile(r"[A-Za-z0-9]{1,32}")
# The version tag of a record someone published at _smtp._tls, however spaced.
_V_TAG = re.compile(r"v\s*=\s*([^\s;]*)", re.IGNORECASE)
# Records of other kinds published at _smtp._tls: (code, what it is, where it belongs).
_OTHER_RECORDS = {
    "SPF1": ("tlsrpt_spf_record", "an SPF", "{domain} itself"),
    "DMARC1": ("tlsrpt_dmarc_record", "a DMARC", "_dmarc.{domain}"),
    "STSV1": ("tlsrpt_sts_record", "an MTA-STS", "_mta-sts.{domain}"),
}


@dataclass(frozen=True)
class TlsRptRecord:
    rua: tuple[str, ...]  # the URIs as published
    extensions: dict[str, str]  # accepted and ignored (RFC 8460 §3)


# --- shared grammar ---------------------------------------------------------------------


def _fields(text: str, version: str, prefix: str) -> list[tuple[str, str]]:
    """The ``name=value`` fields after the version tag; raises on any malformed field."""
    # Trailing white space is not in the grammar, but no sender trips on it.
    parts = _DELIM.split(text.rstrip(" \t"))
    if parts[0] != version:
        code = f"{prefix}_version_invalid"
        if parts[0].startswith(version) and parts[0][len(version)] in " \t":
            raise RecordError(code, f"it needs a ';' after {version!r}")
        raise RecordError(code, f"it must begin with '{version};', not {parts[0][:40]!r}")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # the optional trailing ";"
    return [_field(part, prefix) for part in parts[1:]]


def _field(part: str, prefix: str) -> tuple[str, str]:
    name, eq, value = part.partition("=")
    if not part:
        raise RecordError(f"{prefix}_field_malformed", "it has an empty field (';;')")
    if not eq or not _NAME.fullmatch(name):
        hint = ""
        if part.lower().startswith(("mailto:", "https:")):
            hint = " (separate several rua URIs with commas, not semicolons)"
        raise RecordError(
            f"{prefix}_field_malformed", f"{part[:60]!r} is not a name=value field{hint}"
        )
    return name, value


# --- TLS-RPT record (RFC 8460 §3) ------------------------------------------------------


def parse_tlsrpt_record(text: str) -> TlsRptRecord:
    """The record at ``_smtp._tls``; raises ``RecordError`` (``tlsrpt_*``) when invalid."""
    rua: tuple[str, ...] | None = None
    extensions: dict[str, str] = {}
    for name, value in _fields(text, TLSRPT_VERSION, "tlsrpt"):
        if name == "rua":
            if rua is not None:
                raise RecordError("tlsrpt_rua_repeated", "it has more than one rua= field")
            rua = _parse_rua(value)
        elif not _EXT_VALUE.fullmatch(value):
            raise RecordError(
                "tlsrpt_field_malformed",
                f"the value of {name}= is empty or has a space, '=' or non-ASCII character",
            )
        else:
            extensions.setdefault(name, value)
    if rua is None:
        hint = " (field names are case-sensitive)" if "rua" in map(str.lower, extensions) else ""
        raise RecordError("tlsrpt_rua_missing", f"it has no rua= field{hint}")
    return TlsRptRecord(rua=rua, extensions=extensions)


def _parse_rua(value: str) -> tuple[str, ...]:
    uris = tuple(uri.strip(" \t") for uri in value.split(","))
    for uri in uris:
        _check_uri(uri)
    return uris


def _check_uri(uri: str) -> None:
    if not uri:
        raise RecordError("tlsrpt_rua_empty", "its rua= list is empty or has an empty entry")
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.lower() not in ("mailto", "https"):
        hint = " (write mailto: before an e-mail address)" if "@" in scheme else ""
        raise RecordError("tlsrpt_rua_scheme", f"{uri!r} is not a mailto: or https: URI{hint}")
    if not _URI_CHARS.fullmatch(uri) or _BAD_PERCENT.search(uri):
        raise RecordError(
            "tlsrpt_rua_invalid",
            f"{uri!r} has characters a URI cannot contain (separate URIs with commas)",
        )
    if scheme.lower() == "mailto":
        local, at, host = unquote(rest).partition("@")
        if not (local and at and host):
            raise RecordError("tlsrpt_rua_invalid", f"{uri!r} has no e-mail address")
    elif not _hostname(uri):
        raise RecordError("tlsrpt_rua_invalid", f"{uri!r} has no valid host name")


def _hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:  # e.g. an unclosed "[" of an IPv6 literal
        return None


def _uri_key(uri: str) -> tuple[str, ...]:
    """What two rua URIs must share to deliver to the same place."""
    scheme, _, rest = uri.partition(":")
    if scheme.lower() == "mailto":
        address = _SIZE_SUFFIX.sub("", unquote(rest.partition("?")[0]))
        return ("mailto", address.lower())
    parts = urlsplit(uri)
    return ("https", parts.netloc.lower(), parts.path.rstrip("/"), parts.query)


def _format_record(rua: list[str] | tuple[str, ...], extensions: dict[str, str]) -> str:
    fields = [TLSRPT_VERSION, "rua=" + ",".join(rua)]
    return "; ".join(fields + [f"{k}={v}" for k, v in extensions.items()])


def tlsrpt_findings(
    records: list[str] | None,
    *,
    domain: str,
    our_uris: list[str],
    apex_records: list[str] | None = None,
) -> list[Finding]:
    """Judge the TXT records at ``_smtp._tls.<domain>`` (None: the name does not exist).

    A misspelt or misplaced record is an error when it is why TLS-RPT does not work, and a
    warning (clutter to delete) when a working record exists as well.
    """
    name = f"_smtp._tls.{domain}"
    ours = our_uris[0] if our_uris else f"mailto:tls-reports@{domain}"
    candidates = [r for r in records or [] if r.startswith(TLSRPT_VERSION)]
    findings, record = _tlsrpt_main(candidates, name=name, ours=ours)
    level = Level.WARNING if record else Level.ERROR
    for text in records or []:
        if text not in candidates and (miss := _near_miss(text, domain)):
            code, problem, fix = miss
            message = f"The TXT record {text!r} at {name} {problem}, so senders discard it."
            findings.append(Finding(level, code, message, fix))
    findings += _apex_findings(apex_records or [], domain=domain, level=level)
    if record:
        findings += _rua_findings(record, name=name, our_uris=our_uris)
    ok = f"{name} publishes a valid TLS-RPT record that sends reports to us."
    return findings or [Finding(Level.OK, "tlsrpt_ok", ok)]


def _tlsrpt_main(
    candidates: list[str], *, name: str, ours: str
) -> tuple[list[Finding], TlsRptRecord | None]:
    """The finding about the record(s) beginning with v=TLSRPTv1, or the parsed record."""
    if not candidates:
        message = (
            f"{name} has no TLS-RPT record (a TXT record beginning with v=TLSRPTv1), "
            "so senders send no reports."
        )
        fix = f"Publish this TXT record at {name}: v=TLSRPTv1; rua={ours}"
        return [Finding(Level.ERROR, "tlsrpt_missing", message, fix)], None
    if len(candidates) > 1:
        listed = ", ".join(repr(c) for c in candidates)
        message = f"{name} has {len(candidates)} TLS-RPT records ({listed}); senders ignore all."
        fix = (
            f"Delete all but one, and list every address in it, comma-separated, "
            f"e.g. v=TLSRPTv1; rua={ours},mailto:other@example.com"
        )
        return [Finding(Level.ERROR, "tlsrpt_multiple", message, fix)], None
    try:
        return [], parse_tlsrpt_record(candidates[0])
    except RecordError as e:
        message = f"The TLS-RPT record {candidates[0]!r} at {name} is invalid: {e.message}."
        fix = f"Replace it with a valid record, e.g. v=TLSRPTv1; rua={ours}"
        return [Finding(Level.ERROR, e.code, message, fix)], None


def _near_miss(text: str, domain: str) -> tuple[str, str, str] | None:
    """(code, problem, fix) for a discarded record at ``_smtp._tls`` that was meant as
    TLS-RPT, or is another kind of record published at the wrong name; None otherwise."""
    body = text.strip().strip("\"'").strip()
    tag = _V_TAG.match(body)
    version = tag[1].upper() if tag else ""
    if version in _OTHER_RECORDS:
        code, kind, home = _OTHER_RECORDS[version]
        home = home.format(domain=domain)
        return code, f"is {kind} record", f"Delete it here; publish it at {home}."
    if tag and (body.startswith(TLSRPT_VERSION) or _looks_like_tlsrpt(version)):
        fix = _publish_as([body[tag.end() :].lstrip(" \t;")])
        if body.startswith(TLSRPT_VERSION):
            return "tlsrpt_version_not_first", "has quotes or spaces before v=TLSRPTv1", fix
        problem = f"begins with {tag[0]!r}, not exactly v=TLSRPTv1"
        if tag[0].lower() == TLSRPT_VERSION.lower():
            return "tlsrpt_version_case", problem + " (it is case-sensitive)", fix
        return "tlsrpt_version_typo", problem, fix
    fields = [f.strip() for f in body.split(";") if f.strip()]
    others = [f for f in fields if re.sub(r"\s", "", f) != TLSRPT_VERSION]
    if len(others) < len(fields):
        return "tlsrpt_version_not_first", "does not begin with v=TLSRPTv1", _publish_as(others)
    if any(f.startswith("rua=") for f in fields):
        return "tlsrpt_version_missing", "has no v=TLSRPTv1 at its start", _publish_as(fields)
    return None


def _publish_as(fields: list[str]) -> str:
    return "Publish it as: " + "; ".join([TLSRPT_VERSION, *(f for f in fields if f)])


def _looks_like_tlsrpt(version: str) -> bool:
    """Misspellings such as TSLRPTv1, TLSRPT1 or TLS-RPTv1 (compared upper-case)."""
    return difflib.SequenceMatcher(None, version, "TLSRPTV1").ratio() >= 0.7


def _apex_findings(apex_records: list[str], *, domain: str, level: Level) -> list[Finding]:
    fix = f"Delete it at {domain} and publish it at _smtp._tls.{domain} instead."
    return [
        Finding(
            level,
            "tlsrpt_at_apex",
            f"The TLS-RPT record {text!r} is at {domain} itself, where senders never look.",
            fix,
        )
        for text in apex_records
        if text.strip().lower().startswith(TLSRPT_VERSION.lower())
    ]


def _rua_findings(record: TlsRptRecord, *, name: str, our_uris: list[str]) -> list[Finding]:
    findings = []
    cleaned = [_SIZE_SUFFIX.sub("", uri).replace("!", "%21") for uri in record.rua]
    if bangs := [uri for uri in record.rua if "!" in uri]:
        message = (
            f"The rua= of {name} has a raw '!' in {', '.join(bangs)}: TLS-RPT has no size "
            "limit like DMARC's '!10m', and senders may take it as part of the address."
        )
        fix = "Publish it as: " + _format_record(cleaned, record.extensions)
        findings.append(Finding(Level.WARNING, "tlsrpt_rua_unencoded_exclamation", message, fix))
    wanted = {_uri_key(uri) for uri in our_uris}
    if wanted and not wanted & {_uri_key(uri) for uri in record.rua}:
        message = (
            f"The TLS-RPT record at {name} sends reports to {', '.join(record.rua)}, "
            "not to us, so we receive none."
        )
        fix = "Add our address: " + _format_record([*cleaned, our_uris[0]], record.extensions)
        findings.append(Finding(Level.WARNING, "tlsrpt_not_pointing_at_us", message, fix))
    return findings


# --- MTA-STS record (RFC 8461 §3.1) ----------------------------------------------------


def parse_sts_record(text: str) -> str:
    """The policy id of the record at ``_mta-sts``; raises ``RecordError`` (``sts_record_*``)."""
    ids = [value for name, value in _fields(text, STS_VERSION, "sts_record") if name == "id"]
    if not ids:
        raise RecordError("sts_record_bad_id", "it has no id= field")
    if len(ids) > 1 or not _STS_ID.fullmatch(ids[0]):
        raise RecordError("sts_record_bad_id", "it needs exactly one id= of 1-32 letters/digits")
    return ids[0]


def sts_record_findings(
    records: list[str] | None, *, domain: str
) -> tuple[str | None, list[Finding]]:
    """The policy id (None unless usable) and findings for the TXT at ``_mta-sts.<domain>``."""
    name = f"_mta-sts.{domain}"
    candidates = [r for r in records or [] if r.startswith(STS_VERSION)]
    publish = f"publish one TXT record at {name}: v=STSv1; id=1 (a new id on each policy change)"
    if not candidates:
        return None, [_sts_missing(records or [], name=name, domain=domain, publish=publish)]
    if len(candidates) > 1:
        message = f"{name} has {len(candidates)} MTA-STS records; senders ignore all of them."
        return None, [
            Finding(Level.ERROR, "sts_record_multiple", message, f"Delete all but one: {publish}.")
        ]
    try:
        policy_id = parse_sts_record(candidates[0])
    except RecordError as e:
        message = f"The MTA-STS record {candidates[0]!r} at {name} is invalid: {e.message}."
        return None, [Finding(Level.ERROR, e.code, message, f"Replace it: {publish}.")]
    ok = f"{name} publishes a valid MTA-STS record (id={policy_id})."
    return policy_id, [Finding(Level.OK, "sts_record_ok", ok)]


def _sts_missing(records: list[str], *, name: str, domain: str, publish: str) -> Finding:
    if any(r.strip().strip("\"'").lower().startswith(STS_VERSION.lower()) for r in records):
        message = (
            f"The MTA-STS record at {name} does not begin with exactly v=STSv1 (it is "
            "case-sensitive and nothing may come before it), so senders ignore it."
        )
        return Finding(
            Level.ERROR, "sts_record_version_invalid", message, f"Correct it: {publish}."
        )
    message = (
        f"{name} has no MTA-STS record (v=STSv1): MTA-STS is not deployed, so senders may "
        "deliver without TLS unless DANE protects the MX hosts."
    )
    fix = (
        f"To deploy MTA-STS, serve a policy at https://mta-sts.{domain}/.well-known/mta-sts.txt "
        "(version: STSv1, mode: testing, one mx: line per MX host, max_age: 604800), "
        f"then {publish}."
    )
    return Finding(Level.WARNING, "sts_record_missing", message, fix)
