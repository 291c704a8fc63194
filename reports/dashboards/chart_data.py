"""The data of the domain dashboard's chart: one point per bucket on a real time axis.

A bucket without a report is a gap (``None``), never a zero: the bars leave it empty and
the success-rate line breaks there. Marks say what changed on a day (a DNS check's
result, the hosted MTA-STS policy, the live MX TLS probe) and sit on the bucket of that
day. Long periods are shown in weeks (``selectors.CHART_POINTS``), and the axis says so.
"""

from collections.abc import Iterable
from datetime import date
from typing import Any

from domains.models import CheckKind, DnsCheck
from reports.dashboards.periods import bucket_start
from reports.dashboards.selectors import DayPoint

# The x axis's title and the time unit Chart.js draws its ticks in, per bucket step.
AXIS_TITLES = {"day": "Day", "week": "Week starting (Monday)", "month": "Month", "year": "Year"}


def axis_title(step: str) -> str:
    """What one point of the chart is, e.g. "Week starting (Monday)" or "Period of 14 years"."""
    return AXIS_TITLES.get(step, f"Period of {step}, starting")


def time_unit(step: str) -> str:
    return step if step in AXIS_TITLES else "year"


def chart_points(series: list[DayPoint], step: str) -> list[date]:
    """Each point's x: its bucket's first day, even when the period starts mid-bucket, so
    the bars are evenly spaced (Chart.js sizes bars by the closest two points)."""
    return [bucket_start(p.day, step) for p in series]


def bucket_of(day: date, points: list[date]) -> date:
    """The point (a bucket's first day, or the period's start) ``day`` falls in."""
    return max((p for p in points if p <= day), default=day)


def change_marks(changes: Iterable[DnsCheck], points: list[date]) -> dict[str, dict[str, list]]:
    """DNS check changes by kind of mark: "dns" (records) and "probe" (the live MX probe).

    Each maps a point (ISO day) to what changed in it, e.g. "MTA-STS: ok → error — …".
    """
    marks: dict[str, dict[str, list[str]]] = {"dns": {}, "probe": {}}
    for check in changes:
        kind = "probe" if check.kind == CheckKind.MX_TLS else "dns"
        point = bucket_of(check.checked_at.date(), points).isoformat()
        marks[kind].setdefault(point, []).append(change_text(check))
    return marks


def change_text(check: DnsCheck) -> str:
    """ "<kind>: <before> → <after>", then what the check found wrong (at most two)."""
    text = f"{check.get_kind_display()}: {check.previous_status or 'none'} → {check.status}"
    found = [f.get("message", "") for f in check.findings or [] if f.get("level") != "ok"]
    return " — ".join([text, *[m for m in found[:2] if m]])


def chart_payload(
    series: list[DayPoint], step: str, marks: dict[str, dict[str, list[str]]]
) -> dict[str, Any]:
    """What static/js/dashboard-chart.js draws (the page's ``json_script``)."""
    return {
        "step": step,
        "unit": time_unit(step),
        "axis_title": axis_title(step),
        "days": [day.isoformat() for day in chart_points(series, step)],
        "successful": [p.totals.successful if p.reported else None for p in series],
        "failed": [p.totals.failed if p.reported else None for p in series],
        "rate": [p.totals.success_rate if p.reported else None for p in series],
        "dns_changes": marks.get("dns", {}),
        "policy_changes": marks.get("policy", {}),
        "probe_findings": marks.get("probe", {}),
    }
