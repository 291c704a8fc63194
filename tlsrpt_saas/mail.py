"""Emails the product sends (digests, alerts, notices): plain text plus HTML.

Each email is a pair of templates, ``<name>.txt`` and ``<name>.html``; the HTML's
``<style>`` is inlined with css-inline, because many mail clients drop style blocks.
Every header value we compose goes through ``header_clean``: parts of a subject come from
reports strangers send (an organization's name, a result type), and a line break in one
would make Django refuse the whole message.
"""

from collections.abc import Mapping

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

_inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)
# Control characters (C0 with CR, LF and TAB; DEL; C1) and the Unicode line and paragraph
# separators: each becomes a space.
_BREAKS = {n: " " for n in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)}


def header_clean(value: str) -> str:
    """``value`` on one line, fit for a header: control characters and line or paragraph
    separators become spaces, runs of white space one space, none at either end."""
    return " ".join(value.translate(_BREAKS).split())


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
    clean = {name: header_clean(value) for name, value in (headers or {}).items()}
    message = EmailMultiAlternatives(header_clean(subject), text, to=to, headers=clean)
    message.attach_alternative(html, "text/html")
    return message
