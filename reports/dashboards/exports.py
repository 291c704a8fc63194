"""CSV exports of a tenant's numbers, written by one writer that defuses spreadsheet formulas.

Reports come from strangers: anyone who can send to a tenant's address chooses the MX host
names, reason codes and additional information the exports carry. A spreadsheet runs a cell
that begins with ``=``, ``+``, ``-`` or ``@`` as a formula (``=HYPERLINK(...)``,
``=cmd|...``), and a tab or carriage return can start one after it; every text cell that
begins so gets a leading ``'`` (OWASP's rule), which spreadsheets show as text. Numbers stay
numbers, and so does text that is only a number (``-1``).
"""

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")

FAILURE_COLUMNS = [
    "day", "domain", "organization", "report_id", "policy_type", "counted", "result_type",
    "sending_mta_ip", "receiving_mx_hostname", "receiving_mx_helo", "receiving_ip",
    "failed_session_count", "failure_reason_code", "additional_information",
]  # fmt: skip
DAILY_COLUMNS = [
    "day", "domain", "organization", "policy_type", "successful", "failed",
    "counted_successful", "counted_failed", "reports",
]  # fmt: skip


def csv_cell(value: Any) -> Any:
    """``value`` as a spreadsheet reads it back: text that could start a formula gets a '."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_lines(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header and one line per row, each cell through ``csv_cell``: every export's writer."""
    writer = csv.writer(_Echo())
    yield writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        yield writer.writerow([csv_cell(v) for v in row])


class _Echo:
    """A file-like object csv.writer writes a line to and gets it back from."""

    def write(self, value: str) -> str:
        return value
