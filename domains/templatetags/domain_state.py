"""The ownership state badge of a domain (a filter: cheaper than an include in loops).

Rendered as the design system's status (static/css/app.css): a shape and a word with the
colour, never colour alone."""

from django import template
from django.utils.html import format_html

from domains.models import Domain

register = template.Library()

_BADGES = {
    "verified": ("ok", "✓", "Verified"),
    "failing": ("fail", "✗", "Failing"),
    "pending": ("none", "\N{EN DASH}", "Pending"),
}


@register.filter
def state_badge(domain: Domain) -> str:
    kind, icon, label = _BADGES[domain.state]
    return format_html(
        '<span class="status status-{}" data-state="{}">'
        '<span class="status-icon" aria-hidden="true">{}</span> {}</span>',
        kind,
        domain.state,
        icon,
        label,
    )
