"""Find the report attachments in an RFC 5322 message, however it was packed.

RFC 8460 section 5.3 asks for ``multipart/report; report-type=tlsrpt`` with an
``application/tlsrpt+gzip`` or ``+json`` part, but reports also arrive forwarded
(``message/rfc822``), re-typed by gateways (``application/octet-stream``, ``gzip``,
``json``, ``zip``) or under a wrong file name. Every leaf part is therefore considered,
at any depth, and its content decides what it is. The stdlib parser runs with the compat32
policy: the modern policy is about ten times slower here and gains nothing for this job.

Only header blocks go through the stdlib parser: ``split`` cuts multipart bodies at their
delimiters with string search and gives the same parts, or hands the message back to the
stdlib parser when its input is odd.
"""

import email.parser
from collections.abc import Iterator
from email.message import Message
from typing import cast

from .decode import Budget, Document, documents
from .errors import TlsRptError
from .limits import Limits
from .split import Unsupported, leaves, parse_head

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
_NAMED_BY = ("content-disposition", "content-type")


class _Headers(Message):
    """A message as ``parse_message`` leaves it: headers parsed, body one text payload."""

    text: str  # the whole message as the stdlib parser reads it
    body: int  # where the body starts in ``text``


# Typed as a parser of plain messages, which parse_head takes: parse_message casts back.
_TOP: "email.parser.Parser[Message]" = email.parser.Parser(_Headers)


def parse_message(data: bytes) -> Message:
    """The message's headers as the stdlib reads them; ``leaf_parts`` splits the body."""
    # The stdlib parser's own decoding: every byte survives, non-ASCII as a surrogate.
    text = data.decode("ascii", "surrogateescape")
    try:
        head, body = parse_head(text, 0, len(text), _TOP)
    except Unsupported:
        return _parse_in_full(text)
    message = cast(_Headers, head)
    message.text, message.body = text, body
    message.set_payload(text[body:])
    return message


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
    if isinstance(message, _Headers):
        try:
            found, too_many = leaves(message.text, message, message.body, limits.max_mime_parts)
        except Unsupported:
            message = _parse_in_full(message.text)
        except RecursionError as e:
            raise _too_deep() from e
        else:
            yield from found
            if too_many:
                raise _too_many(limits)
            return
    count = 0
    try:
        for part in message.walk():
            count += 1
            if count > limits.max_mime_parts:
                raise _too_many(limits)
            if not part.is_multipart():
                yield part
    except RecursionError as e:
        raise _too_deep() from e


def _parse_in_full(text: str) -> Message:
    """The whole message tree; compat32 never raises on malformed input, deep nesting aside."""
    try:
        return email.parser.Parser().parsestr(text)
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
    # get_filename reads the first Content-Disposition's "filename" parameter, else the first
    # Content-Type's "name" (RFC 2231 pieces too): without "name" in either, it finds
    # nothing, and parsing their parameters costs a tenth of a whole extract.
    if not any("name" in str(part.get(header, "")).lower() for header in _NAMED_BY):
        return None
    try:
        name = part.get_filename()
    except (TypeError, ValueError, LookupError):
        # An RFC 2231 name in an unknown charset: the name only helps attribution.
        return None
    if not name:
        return None
    name = "".join(name.split("\n")).replace("\r", "").strip()
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace") or None


def _too_many(limits: Limits) -> TlsRptError:
    return TlsRptError(
        "too_many_parts", f"The message has more than {limits.max_mime_parts} MIME parts."
    )


def _too_deep() -> TlsRptError:
    return TlsRptError("too_many_parts", "The message's MIME parts are nested too deeply.")
