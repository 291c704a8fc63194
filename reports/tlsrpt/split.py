"""Split MIME bodies at their boundaries with ``str.find``, as the stdlib parser does.

``email.feedparser`` reads a message line by line and compiles a new regular expression
for every multipart; boundaries are unique per message, so the ``re`` cache never helps
and the compile alone was a quarter of ``extract``'s time. Here delimiter lines (RFC 2046
section 5.1.1) are found by plain string search, and only each part's header block goes
through the stdlib parser, so every header reads exactly as it did.

The result is what ``email.parser`` (compat32) makes of the message, byte for byte: the
leaf parts in ``walk()`` order, each with the stdlib's headers and payload. That covers
well-formed mail and the usual faults (LF-only or mixed line ends, a missing close
delimiter, whitespace after a delimiter). Input whose stdlib reading is odd (no start
delimiter, no boundary parameter, delimiter lines back to back, message/delivery-status,
nesting deeper than ``MAX_DEPTH``) raises ``Unsupported``: the caller then parses the
whole message with the stdlib instead.

Offsets index one ``str``, the message decoded as the stdlib decodes it (ASCII, with
surrogate escapes), so nested parts are never copied; only leaf payloads are sliced out.
"""

import email.parser
from collections.abc import Iterator
from email.message import Message

# Deeper nesting is left to the stdlib parser, which reads some 980 levels before its
# RecursionError (too_many_parts): no real mail nests even a tenth as deep.
MAX_DEPTH = 50
_HEADERS = email.parser.Parser()


class Unsupported(Exception):
    """The fast path does not read this input as the stdlib would: parse it in full."""


def parse_head(
    text: str, start: int, end: int, parser: email.parser.Parser = _HEADERS
) -> tuple[Message, int]:
    """The message whose source is ``text[start:end]``, headers parsed; and where its body starts.

    The stdlib parses the header block, so its rules apply unchanged: headers end at the
    first empty line, or before the first line that is not a header (which starts the body).
    """
    cut = _past_first_empty_line(text, start, end)
    head = text[start:cut]
    message = parser.parsestr(head, headersonly=True)
    # headersonly leaves whatever followed the headers as the payload: normally nothing.
    # Read as stored (get_payload() would re-decode non-ASCII); typeshed omits _payload.
    rest: str | None = vars(message)["_payload"]
    if rest:
        if rest.startswith("From ") or not head.endswith(rest):
            # The stdlib moves a "From " line that ends the headers into the body, past
            # the empty line, and then may strip that line's own line break as well.
            raise Unsupported
        cut -= len(rest)
    return message, cut


def leaves(text: str, message: Message, body: int, max_parts: int) -> tuple[list[Message], bool]:
    """The leaf parts of ``message`` (headers parsed, body ``text[body:]``) in walk() order.

    Every part counts against ``max_parts``, containers included; past it the split stops
    and the flag is True: the leaves returned are those walk() gives before it has counted
    too many.
    """
    walk = _Walk(text, max_parts)
    try:
        walk.message(message, body, len(text), depth=0, at_eof=True, strip_tail=False)
    except _Full:
        return walk.leaves, True
    return walk.leaves, False


class _Full(Exception):
    pass


class _Walk:
    def __init__(self, text: str, max_parts: int) -> None:
        self.text = text
        self.max_parts = max_parts
        self.count = 0
        self.leaves: list[Message] = []

    def message(
        self, message: Message, body: int, end: int, *, depth: int, at_eof: bool, strip_tail: bool
    ) -> None:
        """Add ``message``, whose body is ``text[body:end]``, and its parts.

        ``at_eof``: the body runs to the end of the data, not to a delimiter. ``strip_tail``:
        the stdlib drops one line break at the end of this leaf (see ``_parts``).
        """
        self.count += 1
        if self.count > self.max_parts:
            raise _Full
        content_type = message.get_content_type()
        maintype = content_type.partition("/")[0]
        if maintype == "message":
            # An enclosed message, e.g. a forwarded report; delivery-status is a list of
            # header blocks, which the stdlib parses its own way.
            if content_type == "message/delivery-status" or depth >= MAX_DEPTH:
                raise Unsupported
            inner, inner_body = parse_head(self.text, body, end)
            self.message(
                inner, inner_body, end, depth=depth + 1, at_eof=at_eof, strip_tail=strip_tail
            )
        elif maintype == "multipart":
            boundary = message.get_boundary()
            # A boundary holding a line break (a folded parameter) never matches a line.
            if boundary is None or "\r" in boundary or "\n" in boundary or depth >= MAX_DEPTH:
                raise Unsupported
            digest = content_type == "multipart/digest"
            for start, stop, open_end in _parts(self.text, body, end, boundary):
                part, part_body = parse_head(self.text, start, stop)
                if digest:
                    part.set_default_type("message/rfc822")
                tail = at_eof and open_end
                self.message(part, part_body, stop, depth=depth + 1, at_eof=tail, strip_tail=tail)
        else:
            payload = self.text[body:end]
            if strip_tail:
                payload = _without_line_break(payload)
            message.set_payload(payload)
            self.leaves.append(message)


def _parts(text: str, start: int, end: int, boundary: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, runs to the end) of each part of the multipart body ``text[start:end]``.

    The line break before a delimiter belongs to the delimiter. Without a close delimiter
    the last part runs to the end of the body and the third item is True: if the body runs
    to the end of the data, the stdlib then drops one final line break from that part.
    """
    delimiters = _delimiters(text, start, end, "--" + boundary)
    first = next(delimiters, None)
    if first is None or first[2]:
        # No start delimiter: the stdlib keeps the body as one text payload.
        raise Unsupported
    part_start = first[1]
    for line_start, line_end, close in delimiters:
        if line_start == part_start:
            # Delimiter lines back to back: the stdlib skips the repeats (even a close one).
            raise Unsupported
        part_end = line_start - 1
        if text[part_end] == "\n" and part_end > part_start and text[part_end - 1] == "\r":
            part_end -= 1
        yield part_start, part_end, False
        if close:
            return
        part_start = line_end
    yield part_start, end, True


def _delimiters(text: str, start: int, end: int, separator: str) -> Iterator[tuple[int, int, bool]]:
    """(line start, line end past its line break, is close) of each delimiter line.

    A delimiter line is the separator at the start of a line, then ``--`` for the close
    delimiter, then spaces or tabs, then the line break or the end: the stdlib's
    ``boundaryre``, over lines that end at CR, LF or CRLF as the stdlib splits them.
    """
    for at in _line_starts(text, start, end, separator):
        pos = at + len(separator)
        close = text.startswith("--", pos, end)
        if close:
            pos += 2
        while pos < end and text[pos] in " \t":
            pos += 1
        if pos == end:
            yield at, pos, close
            return
        if text[pos] in "\r\n":
            yield at, pos + (2 if text.startswith("\r\n", pos, end) else 1), close


def _line_starts(text: str, start: int, end: int, prefix: str) -> Iterator[int]:
    """Where lines in ``text[start:end]`` start with ``prefix``, in order.

    Searching with the line break in front keeps a prefix repeated inside lines (hostile
    input) from costing a Python step per repeat. Lines after a lone CR are looked for only
    up to the next LF match, so that no stretch of text is searched twice.
    """
    if text.startswith(prefix, start, end):
        yield start
    after_lf, after_cr = "\n" + prefix, "\r" + prefix
    lf = text.find(after_lf, start, end)
    pos = start
    while True:
        cr = text.find(after_cr, pos, end if lf < 0 else lf)
        if cr >= 0:
            yield cr + 1
            pos = cr + 1
        elif lf >= 0:
            yield lf + 1
            pos = lf + 1
            lf = text.find(after_lf, pos, end)
        else:
            return


def _past_first_empty_line(text: str, start: int, end: int) -> int:
    """Where the first empty line in ``text[start:end]`` ends; ``end`` if there is none.

    Empty lines after a lone CR are not looked for: parse_head's stdlib parse finds those.
    """
    if text.startswith("\n", start, end):
        return start + 1
    if text.startswith("\r\n", start, end):
        return start + 2
    lf = text.find("\n\n", start, end)
    crlf = text.find("\n\r\n", start, end if lf < 0 else lf + 2)
    if crlf >= 0:
        return crlf + 3
    return end if lf < 0 else lf + 2


def _without_line_break(payload: str) -> str:
    if payload.endswith("\r\n"):
        return payload[:-2]
    if payload.endswith(("\r", "\n")):
        return payload[:-1]
    return payload
