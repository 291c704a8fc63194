"""The repository stands alone: a plain clone runs its own tests.

Nothing may read a folder beside the repository (the real corpus once lived in a
neighbour folder, and a clone of the repository alone then failed about 240 tests).
"""

import re
import subprocess

from tests.conftest import CORPUS, ROOT

# A path leaving the repository: "../something", or a Path climbing out of it by name.
OUTSIDE = re.compile(r"\.\./shared|/ \"shared\"|parents\[\d\] / \"shared\"")


def test_nothing_reads_a_folder_beside_the_repository() -> None:
    files = subprocess.run(
        ["git", "ls-files", "*.py", "Makefile", ".ci/*", "bin/*", "*.toml", "*.cfg", "*.ini"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    offenders = [
        name for name in files if OUTSIDE.search((ROOT / name).read_text(errors="replace"))
    ]
    assert offenders == [], f"files reading outside the repository: {offenders}"


def test_the_corpus_is_in_the_repository_with_its_sources() -> None:
    assert CORPUS.is_relative_to(ROOT)
    sources = (CORPUS / "SOURCES.md").read_text()
    reports = [p.name for p in CORPUS.iterdir() if p.name != "SOURCES.md"]
    assert len(reports) >= 35
    assert [name for name in reports if name not in sources] == []
