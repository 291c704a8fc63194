"""What the carrying e-mail says: RFC 8460 section 5.3 headers and the DKIM verdict.

compat32 hands header values back raw, folding included (``Report-ID:\\r\\n 1331...``
from Microsoft, a three-line Subject from Mail.ru), so values are unfolded here. Bytes
that are not ASCII come back as surrogates and are turned into U+FFFD so that callers
can store every value as text.

DKIM needs DNS, which this package never does itself: the caller passes dkimpy's
``dnsfunc`` (``dnsfunc(name: bytes, timeout=5) -> bytes | str | None``). A lookup that
raises (timeout, SERVFAIL) counts as ``temperror``; one that returns None (no key
published) is a permanent ``fail``, as RFC 6376 has it. dkimpy's exceptions never escape.
"""

import logging
import re
from collections.abc import Callable
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parseaddr

import dkim
from dkim.util import InvalidTagValueList, parse_tag_value

from .model import HeaderFacts
from .values import host_name

DnsFunc = Callable[..., bytes | str | None]

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_REPORT_ID = "report-id:"
# A message with more signatures than this is not worth more DNS lookups.
_MAX_SIGNATURES = 5
# dkimpy logs parts of the message (selectors, hashes) at error level: keep them out.
_SILENT = logging.Logger("reports.tlsrpt.dkimpy", logging.CRITICAL + 1)
_SILENT.addHandler(logging.NullHandler())


def header_facts(message: Message, data: bytes, dnsfunc: DnsFunc | None) -> HeaderFacts:
    """The header facts of ``message``, whose bytes are ``data`` (DKIM signs bytes)."""
    headers = _first_values(message)
    dkim_result, dkim_domain = dkim_check(data, dnsfunc) if dnsfunc else (None, None)
    return HeaderFacts(
        tls_report_domain=_domain(headers.get("tls-report-domain")),
        tls_report_submitter=_domain(headers.get("tls-report-submitter")),
        subject_report_id=subject_report_id(headers.get("subject")),
        from_address=_address(headers.get("from")),
        message_id=_message_id(headers.get("message-id")),
        dkim_result=dkim_result,
        dkim_domain=dkim_domain,
    )


def _first_values(message: Message) -> dict[str, str]:
    """The first value of each header, unfolded, as text."""
    values: dict[str, str] = {}
    for name, value in message.raw_items():
        key = name.lower()
        if key not in values and isinstance(value, str):
            values[key] = _text(_FOLD.sub("", value)).strip()
    return values


def _text(value: str) -> str:
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _domain(value: str | None) -> str | None:
    return host_name(value) if value else None


def subject_report_id(subject: str | None) -> str | None:
    """The id after ``Report-ID:``, inside its ``<>`` when the sender wrote them."""
    if not subject:
        return None
    subject = _decoded(subject)
    at = subject.lower().rfind(_REPORT_ID)
    if at < 0:
        return None
    rest = subject[at + len(_REPORT_ID) :].strip()
    if rest.startswith("<"):
        end = rest.find(">")
        rest = rest[1:end] if end > 0 else rest[1:]
    else:
        rest = rest.split(None, 1)[0] if rest else ""
    return rest.strip() or None


def _decoded(value: str) -> str:
    """RFC 2047 encoded words decoded; the raw text when they are broken."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        return value


def _address(value: str | None) -> str | None:
    if not value:
        return None
    # The common shapes, without parseaddr's cost (a fifth of a whole extract).
    start, end = value.rfind("<"), value.rfind(">")
    if 0 <= start < end and '"' not in value[start:end]:
        address = value[start + 1 : end]
    elif not any(c in value for c in ' "(,;<>'):
        address = value
    else:
        address = parseaddr(value)[1]
    return address.strip().lower() or None


def _message_id(value: str | None) -> str | None:
    if not value:
        return None
    start = value.find("<")
    end = value.find(">", start + 1)
    if start >= 0 and end > start:
        value = value[start + 1 : end]
    return value.strip() or None


class _KeyLookup:
    """Wraps the caller's dnsfunc to tell a failed key lookup from a bad signature."""

    def __init__(self, dnsfunc: DnsFunc) -> None:
        self.dnsfunc = dnsfunc
        self.failed = False

    def __call__(self, name: bytes, timeout: float = 5) -> bytes | str | None:
        try:
            record = self.dnsfunc(name, timeout=timeout)
        except Exception:
            # Timeouts, SERVFAIL, a resolver bug: all mean "could not check now".
            self.failed = True
            return None
        # None: the key is definitively absent (NXDOMAIN, no TXT), a permanent failure.
        return record


def dkim_check(data: bytes, dnsfunc: DnsFunc) -> tuple[str, str | None]:
    """(``pass`` | ``fail`` | ``none`` | ``temperror``, the ``d=`` of the signature checked)."""
    try:
        verifier = dkim.DKIM(data, logger=_SILENT, tlsrpt=True, timeout=5)
        signatures = [v for k, v in verifier.headers if k.lower() == b"dkim-signature"]
    except Exception:
        # A message dkimpy cannot even split into headers cannot carry a valid signature.
        return ("fail", None) if b"dkim-signature" in data.lower() else ("none", None)
    if not signatures:
        return "none", None
    outcomes = [
        _verify_one(verifier, index, value, dnsfunc)
        for index, value in enumerate(signatures[:_MAX_SIGNATURES])
    ]
    for wanted in ("pass", "temperror"):
        for result, domain in outcomes:
            if result == wanted:
                return result, domain
    return outcomes[0]


def _verify_one(
    verifier: dkim.DKIM, index: int, value: bytes, dnsfunc: DnsFunc
) -> tuple[str, str | None]:
    lookup = _KeyLookup(dnsfunc)
    try:
        ok = bool(verifier.verify(idx=index, dnsfunc=lookup))
    except Exception:
        # dkimpy raises for malformed signatures, body hash mismatches and more.
        ok = False
    if lookup.failed:
        return "temperror", _signing_domain(value)
    return ("pass" if ok else "fail"), _signing_domain(value)


def _signing_domain(value: bytes) -> str | None:
    try:
        tags = parse_tag_value(value)
    except (InvalidTagValueList, ValueError, IndexError):
        return None
    domain = tags.get(b"d")
    if not domain:
        return None
    return host_name(domain.decode("ascii", "replace"))
