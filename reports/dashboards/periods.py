"""The period a dashboard page or an export shows, read from its query string.

``?days=7|30|90`` or ``?from=&to=`` (ISO dates, both inclusive); neither: the last 30 days.
Any range is accepted, however long: the pages read the daily rollups, which are kept
for ever. A range that cannot be read (not a date, only one end, ends before it starts,
days not offered) is never replaced silently: the choice carries an error, which pages
show above the last 30 days they fall back to, and exports and the API answer with a 400.
The API gives each end its own default (``defaults_per_end``), as its schema documents.

``bounds_parse`` reads the same ``from``/``to`` as optional limits of a list (reports,
failure details), either or both; the same dates, the same messages.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from reports.dashboards.selectors import PERIODS, Period

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class PeriodChoice:
    period: Period
    chosen: str  # "7", "30", "90" or "custom": which control of the form is active
    error: str = ""
    field: str = ""  # the parameter the error is about: "from", "to" or "days"


def period_parse(
    *, params: Mapping[str, str], time_zone: str, defaults_per_end: bool = False
) -> PeriodChoice:
    """The period ``params`` ask for, or the default with an error saying why not.

    ``defaults_per_end``: a missing ``from`` is 30 days before the end, a missing ``to``
    today (the API); otherwise a range needs both ends (the pages' form sends both).
    """
    start_text, end_text = params.get("from", "").strip(), params.get("to", "").strip()
    if defaults_per_end:
        if not (start_text or end_text):
            return PeriodChoice(Period.last(DEFAULT_DAYS, time_zone), str(DEFAULT_DAYS))
        end_text = end_text or Period.last(1, time_zone).end.isoformat()
        end = _date(end_text)
        if not start_text and end:
            start_text = date.fromordinal(max(1, end.toordinal() - DEFAULT_DAYS + 1)).isoformat()
    if "from" in params or "to" in params:
        return _range(start_text, end_text, time_zone)
    days = params.get("days", str(DEFAULT_DAYS)).strip()
    if days in {str(d) for d in PERIODS}:
        return PeriodChoice(Period.last(int(days), time_zone), days)
    offered = ", ".join(str(d) for d in PERIODS[:-1]) + f" or {PERIODS[-1]}"
    error = f"“{days}” days is not offered: choose {offered} days, or a range."
    return _fallback(error, "days", time_zone)


def _range(start_text: str, end_text: str, time_zone: str) -> PeriodChoice:
    start, end = _date(start_text), _date(end_text)
    for text, value, name in ((start_text, start, "from"), (end_text, end, "to")):
        if text and value is None:
            return _fallback(not_a_date(text), name, time_zone)
    if start is None or end is None:
        return _fallback(BOTH_ENDS, "to" if start else "from", time_zone)
    if end < start:
        return _fallback(backwards(start, end), "to", time_zone)
    return PeriodChoice(Period(start, end), "custom")


BOTH_ENDS = "Give both a start and an end date."


def not_a_date(text: str) -> str:
    return f"“{text}” is not a date: give dates as YYYY-MM-DD."


def backwards(start: date, end: date) -> str:
    return f"The period ends ({end}) before it starts ({start})."


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _fallback(error: str, field: str, time_zone: str) -> PeriodChoice:
    return PeriodChoice(Period.last(DEFAULT_DAYS, time_zone), str(DEFAULT_DAYS), error, field)


@dataclass(frozen=True)
class Bounds:
    """Optional first and last days of a list; a date that cannot be read is None."""

    start: date | None
    end: date | None
    errors: dict[str, str]  # parameter ("from", "to") -> what is wrong with it


def bounds_parse(*, params: Mapping[str, str]) -> Bounds:
    """``from`` and ``to`` as optional limits, either or both, with what is wrong."""
    texts = {name: params.get(name, "").strip() for name in ("from", "to")}
    values = {name: _date(text) if text else None for name, text in texts.items()}
    errors = {name: not_a_date(texts[name]) for name in texts if texts[name] and not values[name]}
    start, end = values["from"], values["to"]
    if start and end and end < start:
        errors["to"] = backwards(start, end)
    return Bounds(start, end, errors)


def latest_period(
    *, latest: date | None, shown: Period, sessions: int, time_zone: str
) -> Period | None:
    """When ``shown`` has no sessions but other days do: the 30 days ending on the latest."""
    if sessions or latest is None or shown.start <= latest <= shown.end:
        return None
    return Period.last(DEFAULT_DAYS, time_zone, today=latest)
