"""The overview's sparkline: a small inline SVG of a domain's sessions and failure rate.

One bar per bucket (day, week, ...) of the period, as tall as its sessions against the
period's busiest bucket, and a line of the failure rate over them. A bucket without
reports is a gap (no bar, the line breaks), never a zero. The size is fixed whatever
the period, so cards and table rows line up; colours come from the stylesheet (classes,
not attributes), so both themes apply.
"""

from dataclasses import dataclass
from functools import cached_property

from django.utils.html import format_html
from django.utils.safestring import SafeString

from reports.dashboards.selectors import Totals

WIDTH = 240  # px, the card's; the table shows the same drawing smaller
HEIGHT = 48
SCALES = (5, 10, 25, 50, 100)  # the failure-rate axis tops at the first that fits


@dataclass(frozen=True)
class Sparkline:
    buckets: list[Totals | None]
    step: str  # "day", "week", ...

    @property
    def gaps(self) -> int:
        return sum(1 for t in self.buckets if t is None)

    @cached_property  # read once per bucket while drawing: computed once
    def rates(self) -> list[float | None]:
        return [100 * t.failed / t.sessions if t and t.sessions else None for t in self.buckets]

    @cached_property
    def scale(self) -> int:
        """The failure-rate axis' top, in percent: at least 5, so noise stays flat."""
        top = max((r for r in self.rates if r is not None), default=0)
        return next(s for s in SCALES if top <= s)

    @property
    def label(self) -> str:
        reported = len(self.buckets) - self.gaps
        if not reported:
            return f"No reports in any {self.step} of this period"
        top = max(r for r in self.rates if r is not None)
        return (
            f"Sessions and failure rate per {self.step}: {reported} of {len(self.buckets)} "
            f"with reports, failure rate at most {_percent(top)}"
        )


def _percent(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") + " %"


def sparkline_svg(line: Sparkline, *, width: int = WIDTH, height: int = HEIGHT) -> SafeString:
    """The drawing; ``data-gaps`` counts the buckets without reports."""
    slot = width / max(len(line.buckets), 1)
    busiest = max((t.sessions for t in line.buckets if t), default=0) or 1
    bars = []
    for i, totals in enumerate(line.buckets):
        if totals is None:
            continue
        tall = max(1.0, (height - 2) * totals.sessions / busiest)
        bars.append((_n(i * slot + slot * 0.1), _n(height - tall), _n(slot * 0.8), _n(tall)))
    return format_html(
        '<svg class="sparkline" width="{w}" height="{h}" viewBox="0 0 {w} {h}"'
        ' preserveAspectRatio="none" role="img" aria-label="{label}"'
        ' data-gaps="{gaps}" data-scale="{scale}">'
        '<line class="sparkline-base" x1="0" y1="{base}" x2="{w}" y2="{base}"/>'
        "{bars}{rate}</svg>",
        w=width, h=height, base=height - 0.5, label=line.label, gaps=line.gaps,
        scale=line.scale, rate=_rate_path(line, slot, height),
        # Numbers only (formatted by _n): joined as they are, not escaped one by one.
        bars=SafeString(
            "".join(
                f'<rect class="sparkline-bar" x="{x}" y="{y}" width="{w}" height="{h}"/>'
                for x, y, w, h in bars
            )
        ),
    )  # fmt: skip


def _rate_path(line: Sparkline, slot: float, height: int) -> SafeString:
    """The failure rate as a path whose runs break at each gap; a lone bucket is a tick."""
    commands, previous = [], None
    for i, rate in enumerate(line.rates):
        if rate is None:
            previous = None
            continue
        x, y = i * slot + slot / 2, 1 + (height - 2) * (1 - rate / line.scale)
        if previous is None:
            commands.append(f"M{_n(x - slot * 0.4)},{_n(y)} L{_n(x)},{_n(y)}")
        else:
            commands.append(f"L{_n(x)},{_n(y)}")
        previous = i
        if i + 1 >= len(line.rates) or line.rates[i + 1] is None:
            commands.append(f"L{_n(x + slot * 0.4)},{_n(y)}")
    if not commands:
        return SafeString("")
    clean = not any(line.rates)  # every reported bucket without failures
    return format_html(
        '<path class="sparkline-rate{}" d="{}"/>', " sparkline-rate-ok" if clean else "",
        " ".join(commands),
    )  # fmt: skip


def _n(value: float) -> str:
    return f"{round(value, 1):g}"
