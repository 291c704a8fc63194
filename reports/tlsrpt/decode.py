"""Recognise report payloads by their bytes and unpack them within bounded memory.

Content types and file names lie (a ``+gzip`` part holding plain JSON, a ``.json`` file
that is gzip), so the magic bytes decide: gzip ``1f 8b``, zip ``PK 03 04``, JSON starting
with ``{``, or base64 text wrapping one of those. Inflating is done in chunks and stops as
soon as the running total passes the limit, so a bomb is rejected fast without holding
its output.
"""

import base64
import binascii
import io
import re
import zipfile
import zlib
from dataclasses import dataclass

from .errors import TlsRptError
from .limits import Limits

GZIP = "gzip"
ZIP = "zip"
JSON = "json"
BASE64 = "base64"

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
# Output per inflate call: bounds the memory a bomb can take beyond the limit.
_CHUNK = 1 << 20
_JSON_START = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*\{")
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/=\s]+")
# Zip methods whose decompressors honour an output bound in zipfile; bzip2 and lzma
# inflate a whole input block at once, which a bomb can abuse.
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


@dataclass(slots=True)
class Document:
    """One JSON document found in the input, and the name it came under."""

    raw: bytes
    name: str | None


class Budget:
    """Decompressed bytes still allowed for the whole input."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def spend(self, size: int) -> None:
        self.used += size
        if self.used > self.limit:
            raise TlsRptError(
                "decompressed_too_large",
                f"The report decompresses to more than {self.limit} bytes.",
            )


def sniff(data: bytes) -> str | None:
    """The payload kind the bytes start with, or None if they are none of ours."""
    if data[:2] == _GZIP_MAGIC:
        return GZIP
    if data[:4] == _ZIP_MAGIC:
        return ZIP
    if _JSON_START.match(data):
        return JSON
    if _BASE64_TEXT.fullmatch(data):
        return BASE64
    return None


def unwrap(data: bytes) -> tuple[str | None, bytes]:
    """Kind and bytes of a payload, with one level of base64 text taken off."""
    kind = sniff(data)
    if kind != BASE64:
        return kind, data
    decoded = unbase64(data)
    if decoded is None:
        return None, data
    inner = sniff(decoded)
    if inner in (GZIP, ZIP, JSON):
        return inner, decoded
    return None, data


def unbase64(data: bytes) -> bytes | None:
    compact = b"".join(data.split())
    if len(compact) < 4:
        return None
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def documents(
    data: bytes, *, name: str | None, limits: Limits, budget: Budget, declared: bool
) -> list[Document]:
    """The JSON documents in one payload.

    ``declared`` says the carrier claimed this is a report (a ``tlsrpt`` content type, or
    a bare upload): then content that is not a report is an error, not something to skip.
    """
    kind, data = unwrap(data)
    if kind == JSON:
        return [Document(data, name)]
    if kind == GZIP:
        inner = gunzip(data, budget)
        if sniff(inner) == JSON:
            return [Document(inner, name)]
    elif kind == ZIP:
        return _zip_documents(data, limits, budget)
    if declared:
        raise TlsRptError("json_invalid", "The report attachment does not hold a JSON report.")
    return []


def gunzip(data: bytes, budget: Budget) -> bytes:
    """Inflate every member of a gzip stream, charging the output to ``budget``."""
    chunks: list[bytes] = []
    pending = data
    while True:
        pending = _inflate_member(pending, chunks, budget)
        # gzip(1) tolerates zero padding after the last member; so do we, and line ends.
        pending = pending.lstrip(b"\x00\r\n\t ")
        if not pending:
            return b"".join(chunks)
        if pending[:2] != _GZIP_MAGIC:
            raise TlsRptError("gzip_invalid", "The gzip data is followed by garbage.")


def _inflate_member(data: bytes, chunks: list[bytes], budget: Budget) -> bytes:
    """Inflate one gzip member into ``chunks``; return the bytes after it."""
    inflater = zlib.decompressobj(wbits=31)
    pending = data
    try:
        while not inflater.eof:
            piece = inflater.decompress(pending, min(_CHUNK, budget.remaining + 1))
            stalled = not piece and len(inflater.unconsumed_tail) == len(pending)
            pending = inflater.unconsumed_tail
            budget.spend(len(piece))
            chunks.append(piece)
            if stalled:
                break
    except zlib.error as e:
        raise TlsRptError("gzip_invalid", "The gzip data is corrupt.") from e
    if not inflater.eof:
        raise TlsRptError("gzip_invalid", "The gzip data is truncated.")
    return inflater.unused_data


def _zip_documents(data: bytes, limits: Limits, budget: Budget) -> list[Document]:
    found = []
    for name, content in unzip(data, limits, budget):
        kind = sniff(content)
        if kind == GZIP:
            content = gunzip(content, budget)
            kind = sniff(content)
        # Archives may carry other files (a README, a DMARC report): skip them.
        if kind == JSON:
            found.append(Document(content, name))
    return found


def unzip(data: bytes, limits: Limits, budget: Budget) -> list[tuple[str, bytes]]:
    """Names and contents of the files in a zip archive, each read within ``budget``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) > limits.max_mime_parts:
                raise TlsRptError(
                    "too_many_parts",
                    f"The zip archive has more than {limits.max_mime_parts} files.",
                )
            return [(info.filename, _read_member(archive, info, budget)) for info in members]
    except TlsRptError:
        raise
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError) as e:
        raise TlsRptError("zip_invalid", "The zip archive is corrupt or unsupported.") from e
    except (ValueError, zlib.error) as e:
        raise TlsRptError("zip_invalid", "The zip archive is corrupt.") from e


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> bytes:
    if info.compress_type not in _ZIP_METHODS:
        raise TlsRptError("zip_invalid", "The zip archive uses an unsupported compression method.")
    chunks = []
    # The sizes in the archive are the sender's claim; count what actually comes out.
    with archive.open(info) as member:
        while chunk := member.read(min(_CHUNK, budget.remaining + 1)):
            budget.spend(len(chunk))
            chunks.append(chunk)
    return b"".join(chunks)
