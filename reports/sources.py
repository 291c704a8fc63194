"""Reading report files from disk for ``manage.py ingest``: files, directories, Maildir, mbox."""

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True)
class SourceItem:
    label: str  # what the user sees: the path, or path#N for the N-th message of an mbox
    filename: str
    data: bytes | None  # None when the file is larger than the limit
    size: int


def iter_sources(paths: list[str], *, max_bytes: int) -> Iterator[SourceItem]:
    for raw_path in paths:
        path = Path(raw_path)
        if path.is_dir():
            yield from _iter_dir(path, max_bytes)
        else:
            yield from _iter_file(path, max_bytes)


def _iter_dir(path: Path, max_bytes: int) -> Iterator[SourceItem]:
    if (path / "cur").is_dir() and (path / "new").is_dir():  # Maildir
        files = sorted([*(path / "new").iterdir(), *(path / "cur").iterdir()])
    else:
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    for file in files:
        yield from _iter_file(file, max_bytes)


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
