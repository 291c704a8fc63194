"""The domain dashboard's heatmap of MX host by day, coloured by failure rate.

TLS-RPT reports give the sessions of a policy domain and, for failures only, the MX that
failed: nobody reports an MX's successful sessions. The rate of a cell is therefore that
MX's failed sessions over *all* of the domain's sessions in the bucket (what share of the
domain's mail failed at that MX), and a host that never failed has no row. A bucket
without any report is empty, which is not the same as "no failures".

Read from the rollups only (``DailyFailure`` by MX and bucket, the chart's series for the
domain's sessions): one query, whatever the period, as the chart's buckets.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db.models import Case, Sum, Value, When
from django.utils.html import escape
from django.utils.safestring import SafeString

from domains.models import Domain
from reports.dashboards.periods import Period
from reports.dashboards.selectors import DayPoint, _as_bucket, _bucket
from reports.models import DailyFailure

MAX_ROWS = 12  # MX hosts shown; the rest are summed in one "others" row
NO_MX = "(MX not reported)"
# Upper bounds (exclusive) of the failure rate of levels 1 to 4; level 5 is the rest.
THRESHOLDS = (0.01, 0.05, 0.20, 0.50)
LEGEND = (
    ("heat-empty", "No reports"),
    ("heat-0", "No failures"),
    ("heat-1", "Under 1 %"),
    ("heat-2", "1 to 5 %"),
    ("heat-3", "5 to 20 %"),
    ("heat-4", "20 to 50 %"),
    ("heat-5", "50 % or more"),
)


@dataclass(frozen=True)
class Column:
    day: date  # the bucket's first day (or the period's start)
    title: str  # "2026-11-14", "week of 2026-11-09", ...
    tick: str  # the short label drawn above it, "" for most columns
    reported: bool
    sessions: int


@dataclass(frozen=True)
class Cell:
    css: str
    text: str


def cells_html(cells: list[Cell]) -> SafeString:
    """A row's cells as HTML, each with its text as a tooltip and for screen readers.

    Built here rather than by a template loop: a two-year grid has thousands of cells,
    and the template engine's per-variable cost made them most of the page's time.
    """
    return SafeString(
        "".join(
            f'<td class="{c.css}" title="{t}"><span class="visually-hidden">{t}</span></td>'
            for c in cells
            for t in (escape(c.text),)
        )
    )


@dataclass(frozen=True)
class Row:
    label: str
    failed: int
    cells: list[Cell]

    @property
    def cells_html(self) -> SafeString:
        return cells_html(self.cells)

    @property
    def total(self) -> str:
        return f"{self.failed:,} failed"


@dataclass(frozen=True)
class Heatmap:
    columns: list[Column]
    rows: list[Row]
    folded: int  # MX hosts summed into the "others" row
    failing: int  # MX hosts with failures in the period
    failing_before: int  # ... in the period before


def columns_of(series: list[DayPoint], step: str) -> list[Column]:
    """One column per chart point; a tick every few columns, so labels never overlap."""
    every = max(1, -(-len(series) // 10))
    return [
        Column(
            p.day,
            column_title(p.day, step),
            tick_label(p.day, step) if i % every == 0 else "",
            p.reported,
            p.totals.sessions,
        )
        for i, p in enumerate(series)
    ]


def column_title(day: date, step: str) -> str:
    return day.isoformat() if step == "day" else f"{step} of {day.isoformat()}"


def tick_label(day: date, step: str) -> str:
    if step in ("day", "week"):
        return day.strftime("%b %-d")
    return day.strftime("%b %Y") if step == "month" else str(day.year)


def heat_level(failed: int, sessions: int) -> int:
    """0 (no failures) to 5 (half of the domain's sessions or more failed there)."""
    if failed <= 0:
        return 0
    if sessions <= 0:
        return 5
    rate = failed / sessions
    return 1 + sum(rate >= t for t in THRESHOLDS)


def percent(failed: int, sessions: int) -> str:
    share = 100 * failed / sessions
    return f"{share:.1f} %" if share < 10 else f"{share:.0f} %"


def cell(label: str, column: Column, failed: int) -> Cell:
    where = f"{label}, {column.title}"
    if not column.reported:
        return Cell("heat-empty", f"{where}: no reports")
    if not failed:
        return Cell("heat-0", f"{where}: no failed sessions reported")
    share = f" ({percent(failed, column.sessions)})" if column.sessions else ""
    text = f"{where}: {failed:,} failed of {column.sessions:,} sessions{share}"
    return Cell(f"heat-{heat_level(failed, column.sessions)}", text)


def mx_heatmap(domain: Domain, period: Period, step: str, series: list[DayPoint]) -> Heatmap:
    """Failed sessions by MX host and bucket, worst host first, the tail folded."""
    per_mx, failing_before = _failed_by_mx(domain, period, step)
    columns = columns_of(series, step)
    starts = [c.day for c in columns]
    ranked = sorted(per_mx.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    shown, rest = ranked[:MAX_ROWS], ranked[MAX_ROWS:]
    if rest:
        others: dict[date, int] = defaultdict(int)
        for _, by_bucket in rest:
            for start, n in by_bucket.items():
                others[start] += n
        shown.append((f"{len(rest)} other MX hosts", others))
    rows = []
    for label, by_bucket in shown:
        failed = _on_points(by_bucket, starts)
        rows.append(
            Row(label, sum(by_bucket.values()), [cell(label, c, failed[c.day]) for c in columns])
        )
    return Heatmap(columns, rows, len(rest), len(per_mx), failing_before)


def point_of(start: date, starts: list[date]) -> date:
    """The chart point of a bucket (the first point is the period's start, not a Monday)."""
    return max((s for s in starts if s <= start), default=starts[0])


def _on_points(by_bucket: dict[date, int], starts: list[date]) -> dict[date, int]:
    points: dict[date, int] = defaultdict(int)
    for start, n in by_bucket.items():
        points[point_of(start, starts)] += n
    return points


def _failed_by_mx(
    domain: Domain, period: Period, step: str
) -> tuple[dict[str, dict[date, int]], int]:
    """MX -> bucket -> failed sessions in ``period``; how many MX failed in the one before.

    One range scan of the rollup's unique key (domain, day, ...), summed in the database;
    the previous period's rows fall in one bucket, NULL.
    """
    before = period.previous()
    bucket = Case(When(day__lt=period.start, then=Value(None)), default=_bucket(step))
    rows = (
        DailyFailure.objects.filter(Period(before.start, period.end).q(), domain=domain)
        .filter(counted__gt=0)
        .annotate(bucket=bucket)
        .values("receiving_mx", "bucket")
        .annotate(n=Sum("counted"))
        .order_by()
        .values_list("receiving_mx", "bucket", "n")
    )
    per_mx: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    failed_before: set[str] = set()
    for mx, start, n in rows:
        if start is None:
            failed_before.add(mx)
        else:
            per_mx[mx or NO_MX][_as_bucket(start, step)] += n or 0
    return per_mx, len(failed_before)
