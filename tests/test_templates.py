"""Templates carry no inline JavaScript and no inline styles.

A value inside a JavaScript string inside an HTML attribute is not protected by HTML
escaping; behaviour comes from static/js/app.js listeners reading data attributes. The
Content-Security-Policy (settings.CONTENT_SECURITY_POLICY) backs this up in the browser:
it refuses inline scripts, event-handler attributes, ``javascript:`` URLs, style
attributes and ``<style>`` elements, so any of them here would be a broken page. Only
``json_script`` data (``type="application/json"``) and scripts carrying a nonce are
inline. E-mail templates are not pages: their styles are inlined on purpose.
"""

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

TEMPLATES = ROOT / "templates"
EMAIL = TEMPLATES / "email"

HANDLER = re.compile(r"""[\s"'/]on[a-z]+\s*=""", re.IGNORECASE)
# htmx's own inline handlers and evaluated values (they would need 'unsafe-eval').
HTMX_EVAL = re.compile(r"""hx-on[:-]|hx-vars\s*=|hx-vals\s*=\s*["']\s*(?:js|javascript):""", re.I)
JAVASCRIPT_URL = re.compile(r"""=\s*["']?\s*javascript:""", re.IGNORECASE)
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
STYLE_ATTRIBUTE = re.compile(r"""[\s"']style\s*=""", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _inline_script(attributes: str, content: str) -> bool:
    """A script with code in the page: not a src, not JSON data, and with no nonce."""
    if not content.strip():
        return False
    if re.search(r"""type\s*=\s*["']application/json["']""", attributes, re.IGNORECASE):
        return False
    return not re.search(r"\bnonce\s*=", attributes, re.IGNORECASE)


def script_findings(text: str) -> list[str]:
    """What in a template's text would run as inline JavaScript, with its line."""
    found = [f"{_line(text, m.start())}: event handler" for m in HANDLER.finditer(text)]
    found += [f"{_line(text, m.start())}: htmx evaluates" for m in HTMX_EVAL.finditer(text)]
    found += [f"{_line(text, m.start())}: javascript: URL" for m in JAVASCRIPT_URL.finditer(text)]
    found += [
        f"{_line(text, m.start())}: inline script"
        for m in SCRIPT.finditer(text)
        if _inline_script(m.group(1), m.group(2))
    ]
    return sorted(found)


def style_findings(text: str) -> list[str]:
    """Inline styles the policy refuses (style attributes, <style> elements), with line."""
    found = [f"{_line(text, m.start())}: style attribute" for m in STYLE_ATTRIBUTE.finditer(text)]
    found += [f"{_line(text, m.start())}: <style> element" for m in STYLE_ELEMENT.finditer(text)]
    return sorted(found)


def _pages() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_no_template_has_inline_javascript() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{finding}"
        for path in _pages()
        for finding in script_findings(path.read_text())
    ]
    assert found == []


def test_no_page_template_has_an_inline_style() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{finding}"
        for path in _pages()
        if not path.is_relative_to(EMAIL)
        for finding in style_findings(path.read_text())
    ]
    assert found == []


@pytest.mark.parametrize(
    "html",
    [
        """<button onclick="return confirm('x')">""",
        """<a href="#"\n   onClick = "go()">""",
        """<img src=x onerror=alert(1)>""",
        """<body onload='start()'>""",
        """<a href="javascript:alert(1)">""",
        """<a href = ' JavaScript:void(0)'>""",
        """<script>alert(1)</script>""",
        """<button hx-on:click="go()">""",
        """<div hx-vals='js:{a: f()}'>""",
        """<script type="text/javascript">\n  go();\n</script>""",
        """<script type="module">import "./x.js";</script>""",
    ],
)
def test_the_scan_finds_inline_javascript(html: str) -> None:
    assert script_findings(html) != []


@pytest.mark.parametrize(
    "html",
    [
        """<script src="/static/js/app.js"></script>""",
        """<script id="chart-data" type="application/json">{"a": 1}</script>""",
        """<script nonce="{{ request.csp_nonce }}">go();</script>""",
        """<button data-confirm="Remove it?" data-online="1">""",
        """<p>Click "Remove" only once.</p>""",
        """<a href="/javascript-guide">""",
        """<div hx-vals='{"a": 1}' hx-get="/x">""",
    ],
)
def test_the_scan_lets_scripts_from_files_and_json_data_pass(html: str) -> None:
    assert script_findings(html) == []


@pytest.mark.parametrize(
    "html", ["""<div style="height: 280px">""", """<style>body { margin: 0 }</style>"""]
)
def test_the_scan_finds_inline_styles(html: str) -> None:
    assert style_findings(html) != []
