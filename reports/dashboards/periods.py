"""The period a dashboard page or an export shows, read from its query string.

``?days=7|30|90`` or ``?from=&to=`` (ISO dates, both inclusive); neither: the last 30 days.
Any range is accepted, however long: the pages read the daily rollups, which are kept
for ever. A range that cannot be read (not a date, only one end, ends before it starts,
days not offered) is never replaced silently: the choice carries an error, which pages
show above the last 30 days they fall back to and exports answer with a 400.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from reports.selectors import PERIODS, Period

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class PeriodChoice:
    period: Period
    chosen: str  # "7", "30", "90" or "custom": which control of the form is active
    error: str = ""


def period_parse(*, params: Mapping[str, str], time_zone: str) -> PeriodChoice:
    """The period ``params`` ask for, or the default with an error saying why not."""
    if "from" in params or "to" in params:
        return _range(params.get("from", "").strip(), params.get("to", "").strip(), time_zone)
    days = params.get("days", str(DEFAULT_DAYS)).strip()
    if days in {str(d) for d in PERIODS}:
        return PeriodChoice(Period.last(int(days), time_zone), days)
    offered = ", ".join(str(d) for d in PERIODS[:-1]) + f" or {PERIODS[-1]}"
    return _fallback(f"“{days}” days is not offered: choose {offered} days, or a range.", time_zone)


def _range(start_text: str, end_text: str, time_zone: str) -> PeriodChoice:
    if not start_text or not end_text:
        return _fallback("Give both a start and an end date.", time_zone)
    try:
        start = date.fromisoformat(start_text)
        end = date.fromisoformat(end_text)
    except ValueError:
        bad = end_text if _is_date(start_text) else start_text
        return _fallback(f"“{bad}” is not a date: give dates as YYYY-MM-DD.", time_zone)
    if end < start:
        return _fallback(f"The period ends ({end}) before it starts ({start}).", time_zone)
    return PeriodChoice(Period(start, end), "custom")


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _fallback(error: str, time_zone: str) -> PeriodChoice:
    return PeriodChoice(Period.last(DEFAULT_DAYS, time_zone), str(DEFAULT_DAYS), error)


def latest_period(
    *, latest: date | None, shown: Period, sessions: int, time_zone: str
) -> Period | None:
    """When ``shown`` has no sessions but other days do: the 30 days ending on the latest."""
    if sessions or latest is None or shown.start <= latest <= shown.end:
        return None
    return Period.last(DEFAULT_DAYS, time_zone, today=latest)
