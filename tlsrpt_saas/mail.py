"""Emails the product sends (digests, alerts, notices): plain text plus HTML.

Each email is a pair of templates, ``<name>.txt`` and ``<name>.html``; the HTML's
``<style>`` is inlined with css-inline, because many mail clients drop style blocks.
"""

from collections.abc import Mapping

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

_inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)


def email_build(
    *,
    to: list[str],
    subject: str,
    template: str,
    context: Mapping[str, object],
    headers: Mapping[str, str] | None = None,
) -> EmailMultiAlternatives:
    """The message for ``template`` (a path without extension), ready to ``send()``."""
    context = {"site_url": settings.SITE_URL, **context}
    text = render_to_string(f"{template}.txt", context)
    html = _inliner.inline(render_to_string(f"{template}.html", context))
    message = EmailMultiAlternatives(subject, text, to=to, headers=dict(headers or {}))
    message.attach_alternative(html, "text/html")
    return message
