"""Reading report files from disk for ``manage.py ingest``: files, directories, Maildir, mbox.

A file named on the command line is always read. A file found in a directory is skipped
(yielded with ``skipped`` set, no data) when neither its name nor its first bytes look
like a report or a mail message: a directory of reports often holds a README or notes.
"""

import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from reports.tlsrpt.decode import GZIP, JSON, ZIP, sniff

# The names RFC 8460 gives report files (.json, .json.gz), zips some senders use, and
# mail messages and mailboxes saved to disk.
REPORT_SUFFIXES = (".json", ".gz", ".zip", ".eml", ".msg", ".mbox", ".mbx")
# A mail message starts with a header field: a name of printable characters, a colon.
_HEADER_LINE = re.compile(rb"[!-9;-~]+:[ \t]")
_SNIFF_BYTES = 512


@dataclass(slots=True)
class SourceItem:
    label: str  # what the user sees: the path, or path#N for the N-th message of an mbox
    filename: str
    data: bytes | None  # None when the file is larger than the limit, or skipped
    size: int
    skipped: bool = False  # in a directory, and not a report by name or content


def iter_sources(paths: list[str], *, max_bytes: int) -> Iterator[SourceItem]:
    for raw_path in paths:
        path = Path(raw_path)
        if path.is_dir():
            yield from _iter_dir(path, max_bytes)
        else:
            yield from _iter_file(path, max_bytes)


def _iter_dir(path: Path, max_bytes: int) -> Iterator[SourceItem]:
    if (path / "cur").is_dir() and (path / "new").is_dir():  # Maildir: only messages
        for file in sorted([*(path / "new").iterdir(), *(path / "cur").iterdir()]):
            yield from _iter_file(file, max_bytes)
        return
    for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        if looks_like_report(file):
            yield from _iter_file(file, max_bytes)
        else:
            yield SourceItem(str(file), file.name, None, file.stat().st_size, skipped=True)


def looks_like_report(path: Path) -> bool:
    """Whether the file's name or first bytes are those of a report, a message or an mbox."""
    if path.name.lower().endswith(REPORT_SUFFIXES):
        return True
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
    if sniff(head) in (GZIP, ZIP, JSON) or head.startswith(b"From "):
        return True
    return _HEADER_LINE.match(head) is not None


def _iter_file(path: Path, max_bytes: int) -> Iterator[SourceItem]:
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(5)
    if head == b"From ":
        yield from _iter_mbox(path, max_bytes)
        return
    data = _read_bounded(path, max_bytes)
    yield SourceItem(str(path), path.name, data, size)


def _read_bounded(path: Path, max_bytes: int) -> bytes | None:
    with path.open("rb") as f:
        data = f.read(max_bytes + 1)
    return None if len(data) > max_bytes else data


def _iter_mbox(path: Path, max_bytes: int) -> Iterator[SourceItem]:
    box = mailbox.mbox(path, create=False)
    try:
        for index, key in enumerate(box.keys(), start=1):
            data = box.get_bytes(key)
            label = f"{path}#{index}"
            yield SourceItem(label, path.name, None if len(data) > max_bytes else data, len(data))
    finally:
        box.close()
