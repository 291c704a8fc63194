"""Templates carry no inline JavaScript: no event-handler attributes (onclick=...).

A value inside a JavaScript string inside an HTML attribute is not protected by HTML
escaping; behaviour comes from static/js/app.js listeners reading data attributes.
"""

import re

from tests.conftest import ROOT

HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def test_no_template_has_an_inline_event_handler() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if HANDLER.search(line)
    ]
    assert found == []
