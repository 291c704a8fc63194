"""The domain dashboard's KPI cards: a figure, the period before, and the change in words.

The arrow and colour say up or down and whether that is good news; the text always gives
the numbers ("+12 % vs previous period (1,234)"), so colour is never the only cue.
"""

from dataclasses import dataclass

from reports.dashboards.selectors import Totals


@dataclass(frozen=True)
class Kpi:
    key: str  # data-total="..." on the value, for tests and scripts
    label: str
    value: str
    change: str  # "kpi-up", "kpi-down" or "kpi-flat"
    arrow: str
    good: bool | None  # None: neither good nor bad news (no change, nothing to compare)
    text: str


def count_kpi(key: str, label: str, now: int, before: int, *, up_is_good: bool | None) -> Kpi:
    """A count and its change in percent of the previous period's (None: neither good nor bad)."""
    if now == before:
        text = f"no change vs previous period ({before:,})"
        return Kpi(key, label, f"{now:,}", "kpi-flat", "→", None, text)
    up = now > before
    change = f"{100 * (now - before) / before:+.0f} %" if before else f"+{now:,}"
    text = f"{change} vs previous period ({before:,})"
    good = None if up_is_good is None else up == up_is_good
    return Kpi(key, label, f"{now:,}", *_direction(up), good, text)


def rate_kpi(now: Totals, before: Totals) -> Kpi:
    """The success rate and its change in percentage points."""
    rate, previous = now.success_rate, before.success_rate
    value = "—" if rate is None else f"{rate} %"
    if rate is None or previous is None:
        shown = "no sessions" if previous is None else f"{previous} %"
        text = f"previous period: {shown}"
        return Kpi("rate", "Success rate", value, "kpi-flat", "→", None, text)
    delta = round(rate - previous, 2)
    if not delta:
        text = f"no change vs previous period ({previous} %)"
        return Kpi("rate", "Success rate", value, "kpi-flat", "→", None, text)
    up = delta > 0
    text = f"{delta:+} pp vs previous period ({previous} %)"
    return Kpi("rate", "Success rate", value, *_direction(up), up, text)


def _direction(up: bool) -> tuple[str, str]:
    return ("kpi-up", "▲") if up else ("kpi-down", "▼")


def domain_kpis(
    totals: Totals,
    previous: Totals,
    reporters: tuple[int, int],
    failing_mx: tuple[int, int],
) -> list[Kpi]:
    """Sessions, failed sessions, success rate, reporters, MX hosts failing: (now, before)."""
    return [
        count_kpi("sessions", "Sessions", totals.sessions, previous.sessions, up_is_good=None),
        count_kpi("failed", "Failed sessions", totals.failed, previous.failed, up_is_good=False),
        rate_kpi(totals, previous),
        count_kpi("reporters", "Reporters", *reporters, up_is_good=True),
        count_kpi("failing-mx", "MX hosts failing", *failing_mx, up_is_good=False),
    ]
