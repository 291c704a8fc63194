"""Find the report attachments in an RFC 5322 message, however it was packed.

RFC 8460 section 5.3 asks for ``multipart/report; report-type=tlsrpt`` with an
``application/tlsrpt+gzip`` or ``+json`` part, but reports also arrive forwarded
(``message/rfc822``), re-typed by gateways (``application/octet-stream``, ``gzip``,
``json``, ``zip``) or under a wrong file name. Every leaf part is therefore considered,
at any depth, and its content decides what it is. The stdlib parser runs with the compat32
policy: the modern policy is about ten times slower here and gains nothing for this job.
"""

import email.parser
from collections.abc import Iterator
from email.message import Message

from .decode import Budget, Document, documents
from .errors import TlsRptError
from .limits import Limits

# Parts the RFC names for the report itself: content that is not a report is an error.
TLSRPT_TYPES = frozenset({"application/tlsrpt+gzip", "application/tlsrpt+json"})
# Parts that may hold a report when a sender or gateway re-typed it.
CANDIDATE_TYPES = frozenset(
    {
        "application/gzip",
        "application/x-gzip",
        "application/json",
        "application/zip",
        "application/x-zip-compressed",
        "application/octet-stream",
    }
)
CANDIDATE_SUFFIXES = (".json", ".gz", ".zip")


def parse_message(data: bytes) -> Message:
    """The message tree; compat32 never raises on malformed input, deep nesting aside."""
    try:
        return email.parser.BytesParser().parsebytes(data)
    except RecursionError as e:
        raise _too_deep() from e


def find_documents(message: Message, limits: Limits, budget: Budget) -> list[Document]:
    """Every JSON report document carried anywhere in ``message``."""
    found: list[Document] = []
    for part in leaf_parts(message, limits):
        kind = _candidate(part)
        if kind is None:
            continue
        payload = _payload(part)
        if payload:
            found += documents(
                payload,
                name=_filename(part),
                limits=limits,
                budget=budget,
                declared=kind == "declared",
            )
    return found


def leaf_parts(message: Message, limits: Limits) -> Iterator[Message]:
    """Non-container parts, counting every part against ``max_mime_parts``."""
    count = 0
    try:
        for part in message.walk():
            count += 1
            if count > limits.max_mime_parts:
                raise TlsRptError(
                    "too_many_parts",
                    f"The message has more than {limits.max_mime_parts} MIME parts.",
                )
            if not part.is_multipart():
                yield part
    except RecursionError as e:
        raise _too_deep() from e


def _candidate(part: Message) -> str | None:
    """Whether a leaf part is "declared" a report, "maybe" one, or None: not worth opening."""
    content_type = part.get_content_type()
    if content_type in TLSRPT_TYPES:
        return "declared"
    if content_type in CANDIDATE_TYPES:
        return "maybe"
    filename = (_filename(part) or "").lower()
    if filename.endswith(CANDIDATE_SUFFIXES):
        return "maybe"
    return None


def _payload(part: Message) -> bytes:
    # Undoes base64 / quoted-printable; 7bit, 8bit and binary come back as sent.
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (TypeError, ValueError, LookupError):
        # An RFC 2231 name in an unknown charset: the name only helps attribution.
        return None
    if not name:
        return None
    name = "".join(name.split("\n")).replace("\r", "").strip()
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace") or None


def _too_deep() -> TlsRptError:
    return TlsRptError("too_many_parts", "The message's MIME parts are nested too deeply.")
