"""Template filters for inbound messages."""

from django import template
from django.utils.html import format_html

from reports.explanations import explain
from reports.models import InboundMessage

register = template.Library()


@register.filter
def explanation(message: InboundMessage) -> str:
    return explain(message.status, message.error_code)


@register.filter
def status_class(status: str) -> str:
    return {
        "processed": "success",
        "duplicate": "secondary",
        "unattributed": "warning",
        "failed": "danger",
    }.get(status, "info")


@register.filter
def sparkline(values: list[int]) -> str:
    """An inline SVG of daily values, 2 px a day, scaled to the largest."""
    top = max(values, default=0) or 1
    height = 16
    points = " ".join(f"{2 * i},{height - round(height * v / top)}" for i, v in enumerate(values))
    label = f"Failed sessions per day, at most {max(values, default=0)}"
    return format_html(
        '<svg class="sparkline" width="{}" height="{}" role="img" aria-label="{}">'
        '<polyline fill="none" stroke="currentColor" stroke-width="1" points="{}"/></svg>',
        max(2 * len(values) - 1, 1), height, label, points,
    )  # fmt: skip
