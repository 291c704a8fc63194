"""The domain dashboard's grid of reporter by day: who sent reports when.

A reporter that reported before but not lately (``reporters.organizations``' silent) is
marked in words, not by colour alone, and its row is empty on the days it kept quiet.
Read from the daily rollups in one query, in the chart's buckets; the same query counts
the reporters of the period before, for the KPI.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db.models import Case, Sum, Value, When
from django.utils.safestring import SafeString

from domains.models import Domain
from reports.dashboards.heatmaps import Cell, Column, cells_html, point_of
from reports.dashboards.periods import Period
from reports.dashboards.reporters import OrganizationRow
from reports.dashboards.selectors import _as_bucket, _bucket
from reports.models import DailyStat

MAX_ROWS = 20
LEGEND = (
    ("grid-on", "Reported, no failures"),
    ("grid-fail", "Reported failures"),
    ("grid-off", "No report"),
)


@dataclass(frozen=True)
class GridRow:
    organization: OrganizationRow
    cells: list[Cell]

    @property
    def cells_html(self) -> SafeString:
        return cells_html(self.cells)


@dataclass(frozen=True)
class ReporterGrid:
    rows: list[GridRow]
    folded: int  # reporters not shown (beyond MAX_ROWS)
    reporters: int  # organizations that reported in the period
    reporters_before: int  # ... in the period before


@dataclass
class _Seen:
    reports: int = 0
    sessions: int = 0
    failed: int = 0


def reporter_grid(
    domain: Domain,
    period: Period,
    step: str,
    columns: list[Column],
    organizations: list[OrganizationRow],
) -> ReporterGrid:
    """One row per organization (as ``organizations`` orders them), one cell per column."""
    seen, before = _reports_by_organization(domain, period, step)
    starts = [c.day for c in columns]
    rows = []
    for org in organizations[:MAX_ROWS]:
        on_points = _merge(seen.get(org.organization, {}), starts)
        cells = [_cell(org.organization, c, on_points.get(c.day)) for c in columns]
        rows.append(GridRow(org, cells))
    return ReporterGrid(rows, max(0, len(organizations) - MAX_ROWS), len(seen), before)


def _merge(by_bucket: dict[date, _Seen], starts: list[date]) -> dict[date, _Seen]:
    merged: dict[date, _Seen] = {}
    for start, s in by_bucket.items():
        total = merged.setdefault(point_of(start, starts), _Seen())
        total.reports += s.reports
        total.sessions += s.sessions
        total.failed += s.failed
    return merged


def _cell(organization: str, column: Column, seen: _Seen | None) -> Cell:
    where = f"{organization}, {column.title}"
    if seen is None or not seen.reports:
        return Cell("grid-off", f"{where}: no report")
    reports = f"{seen.reports:,} report" + ("" if seen.reports == 1 else "s")
    text = f"{where}: {reports}, {seen.sessions:,} sessions"
    if seen.failed:
        return Cell("grid-fail", f"{text}, {seen.failed:,} failed")
    return Cell("grid-on", text)


def _reports_by_organization(
    domain: Domain, period: Period, step: str
) -> tuple[dict[str, dict[date, _Seen]], int]:
    """Organization -> bucket -> what it reported; how many reported in the period before."""
    before = period.previous()
    bucket = Case(When(day__lt=period.start, then=Value(None)), default=_bucket(step))
    rows = (
        DailyStat.objects.filter(Period(before.start, period.end).q(), domain=domain)
        .annotate(bucket=bucket)
        .values("organization", "bucket")
        .annotate(r=Sum("reports"), s=Sum("counted_successful"), f=Sum("counted_failed"))
        .order_by()
        .values_list("organization", "bucket", "r", "s", "f")
    )
    seen: dict[str, dict[date, _Seen]] = defaultdict(dict)
    earlier: set[str] = set()
    for organization, start, reports, successful, failed in rows:
        if start is None:
            earlier.add(organization)
            continue
        day = _as_bucket(start, step)
        total = seen[organization].setdefault(day, _Seen())
        total.reports += reports or 0
        total.sessions += (successful or 0) + (failed or 0)
        total.failed += failed or 0
    return seen, len(earlier)
