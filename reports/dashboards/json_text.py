"""A report's JSON for reading: the sender's text re-indented, never re-encoded.

Parsing and dumping again would change what was sent (``1e3`` becomes ``1000.0``,
``\u00e9`` becomes ``é``), so the page re-indents the tokens as they are: whitespace
outside strings is replaced, every string, number and literal is kept byte for byte. It
also works on a prefix of a report (an unterminated last string is kept as it is), which
is what a large report shows.
"""

import re
import zlib
from dataclasses import dataclass

# A string (possibly cut short at the end of a prefix), a structural character, or a run
# of anything else (numbers, true/false/null). Whitespace between them is dropped.
TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[{}\[\],:]|[^\s{}\[\],:"]+')
CLOSING = {"{": "}", "[": "]"}


def json_indented(text: str, indent: int = 2) -> str:
    """``text`` (JSON, or the start of it) with one value per line, ``indent`` spaces deep."""
    out: list[str] = []
    depth = 0
    tokens = [m.group(0) for m in TOKEN.finditer(text)]
    i = 0
    while i < len(tokens):
        piece = tokens[i]
        if piece in CLOSING:
            if i + 1 < len(tokens) and tokens[i + 1] == CLOSING[piece]:
                out.append(piece + tokens[i + 1])  # an empty object or list stays on its line
                i += 2
                continue
            depth += 1
            out.append(piece + "\n" + " " * indent * depth)
        elif piece in ("}", "]"):
            depth = max(depth - 1, 0)
            out.append("\n" + " " * indent * depth + piece)
        elif piece == ",":
            out.append(",\n" + " " * indent * depth)
        elif piece == ":":
            out.append(": ")
        else:
            out.append(piece)
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class JsonView:
    text: str  # indented: the whole report, or its first ``shown_bytes`` bytes
    size: int  # bytes of the whole JSON as sent
    shown_bytes: int

    @property
    def truncated(self) -> bool:
        return self.shown_bytes < self.size


def json_view(raw_json_gz: bytes, *, limit: int) -> JsonView:
    """The stored (gzip) JSON indented, or only its first ``limit`` bytes when it is longer:
    a report of 100,000 failure details is tens of megabytes, which no page should inline.
    Only that much is decompressed."""
    size = _gzip_size(raw_json_gz)
    head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw_json_gz, limit)
    if len(head) >= size:
        return JsonView(json_indented(head.decode(errors="replace")), size, size)
    text = head.decode(errors="ignore")  # a character cut at the end is dropped
    return JsonView(json_indented(text), size, len(head))


def _gzip_size(data: bytes) -> int:
    """The uncompressed size gzip records in its last four bytes (modulo 4 GiB, which no
    stored report reaches: reports are capped far below)."""
    return int.from_bytes(data[-4:], "little")
