"""Template filters for inbound messages."""

from django import template

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
