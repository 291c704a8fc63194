"""Template filters for inbound messages."""

from django import template
from django.utils.html import format_html

from reports.dashboards.explanations import explain
from reports.inbound.unattributed import Named
from reports.models import InboundMessage

register = template.Library()


@register.filter
def explanation(message: InboundMessage) -> str:
    return explain(message.status, message.error_code)


# An outcome's status class and icon (the design system's .status: never colour alone).
OUTCOME_STATUS = {
    "received": ("none", "…"),
    "processed": ("ok", "✓"),
    "duplicate": ("none", "="),
    "duplicate_conflicting": ("warn", "!"),
    "unattributed": ("warn", "?"),
    "failed": ("fail", "✗"),
}


@register.filter
def outcome(message: InboundMessage) -> str:
    """The message's outcome as a status: its icon and its name."""
    kind, icon = OUTCOME_STATUS.get(message.status, ("none", "\u2013"))
    return format_html(
        '<span class="status status-{}"><span class="status-icon" aria-hidden="true">{}</span>'
        " {}</span>",
        kind, icon, message.get_status_display(),
    )  # fmt: skip


@register.filter
def status_class(status: str) -> str:
    return {
        "processed": "success",
        "duplicate": "secondary",
        "unattributed": "warning",
        "failed": "danger",
    }.get(status, "info")


@register.filter
def named_in(message: InboundMessage, named: dict[int, list[Named]] | None) -> list[Named]:
    """The domains an unattributed message named (reports.inbound.unattributed)."""
    return (named or {}).get(message.pk, [])
