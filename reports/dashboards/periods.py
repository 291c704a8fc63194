"""The period a dashboard page or an export shows: the ``Period`` type, its buckets, how
long its raw rows are kept, and reading it from a query string.

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
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

PERIODS = (7, 30, 90)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @classmethod
    def last(cls, days: int, time_zone: str, today: date | None = None) -> "Period":
        today = today or datetime.now(ZoneInfo(time_zone)).date()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        """The as long period just before; cut at the calendar's first day."""
        end = self.start - timedelta(days=1) if self.start > date.min else date.min
        try:
            start = end - timedelta(days=self.days - 1)
        except OverflowError:
            start = date.min
        return Period(start, end)

    def each_day(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def step(self, max_points: int) -> str:
        """The finest of day, week, month, year, "<n> years" with at most ``max_points``."""
        years = self.end.year - self.start.year + 1
        months = 12 * (years - 1) + self.end.month - self.start.month + 1
        counts = {"day": self.days, "week": self.days // 7 + 2, "month": months, "year": years}
        fine = next((s for s, n in counts.items() if n <= max_points), None)
        return fine or f"{-(-years // (max_points - 1))} years"  # ceiling: room for alignment

    def buckets(self, step: str) -> list[date]:
        """The first day of each bucket (day, Monday, month, year, n years) it touches."""
        starts, start = [], bucket_start(self.start, step)
        while start <= self.end:
            starts.append(start)
            try:
                start = bucket_next(start, step)
            except (OverflowError, ValueError):  # past the calendar's last day
                break
        return starts

    def q(self, prefix: str = "") -> Q:
        return Q(**{f"{prefix}day__gte": self.start, f"{prefix}day__lte": self.end})


def bucket_start(day: date, step: str) -> date:
    if step == "week":
        return day - timedelta(days=day.weekday())  # 0001-01-01 was a Monday
    if step == "month":
        return day.replace(day=1)
    if step == "year":
        return day.replace(month=1, day=1)
    if step.endswith(" years"):  # counted from year 1, so every range cuts them alike
        n = int(step.split()[0])
        return date(1 + (day.year - 1) // n * n, 1, 1)
    return day


def bucket_next(start: date, step: str) -> date:
    if step == "week":
        return start + timedelta(days=7)
    if step == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    if step == "year":
        return date(start.year + 1, 1, 1)
    if step.endswith(" years"):
        return date(start.year + int(step.split()[0]), 1, 1)
    return start + timedelta(days=1)


@dataclass(frozen=True)
class RawRetention:
    """How long raw rows are kept: reports and their failure details go ``retention_days``
    after their day (0: never); the rollups stay."""

    retention_days: int
    kept_since: date | None  # the first day whose raw rows are kept; None: all are


def raw_retention(today: date | None = None) -> RawRetention:
    today = today or timezone.now().date()  # the purge cuts on the UTC day
    retention = settings.REPORT_RETENTION_DAYS
    return RawRetention(retention, today - timedelta(days=retention) if retention > 0 else None)


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
