"""Page weight: no page needs more than 300 KB of HTML, CSS and JavaScript, compressed.

Each page of ``pages.ALL_PAGES`` is opened in a fresh context (an empty cache, as a
first visit), and every document, stylesheet, script and htmx response it loads is
gzip-compressed (``gzip.compress``, level 6, as a server would) and added up. The chart
data (``json_script`` blocks, ``<script type="application/json">``) is left out: it
grows with the period shown, not with the page's make. The heaviest pages are printed
(``pytest -s``) and kept in ``var/test-artifacts/page-weight.txt``.
"""

import gzip
import re
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Response

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.pages import ALL_PAGES, DemoSite, Tabs, page_path, signed_in

# The tests only read the module's demo tenant (``demo_site``); the mark has the test
# database created, and each test's own transaction is rolled back, leaving the data.
pytestmark = pytest.mark.django_db

LIMIT = 300 * 1024
COUNTED = {"document", "stylesheet", "script", "xhr", "fetch"}
JSON_DATA = re.compile(rb'(<script[^>]*type="application/json"[^>]*>).*?(</script>)', re.S)
REPORT = ARTIFACTS.parent / "page-weight.txt"


@dataclass
class Weight:
    page: str
    total: int = 0
    parts: list[tuple[int, str]] = field(default_factory=list)

    def add(self, url: str, body: bytes) -> int:
        size = len(gzip.compress(body, compresslevel=6))
        self.add_size(url, size)
        return size

    def add_size(self, url: str, size: int) -> None:
        self.total += size
        self.parts.append((size, url))

    def line(self) -> str:
        heaviest = ", ".join(f"{u.rsplit('/', 1)[-1] or u} {s // 1024} KB"
                             for s, u in sorted(self.parts, reverse=True)[:3])  # fmt: skip
        return f"{self.total / 1024:7.1f} KB  {self.page}  ({heaviest})"


def without_chart_data(body: bytes) -> bytes:
    return JSON_DATA.sub(rb"\1\2", body)


def weigh(demo_site: DemoSite, tabs: Tabs, page: str, assets: dict[str, int]) -> Weight:
    """``assets``: the compressed size of each static file already weighed (the same bytes
    on every page: their bodies need not cross from the browser again)."""
    tab = tabs.new("light", 1024, signed_in=signed_in(page))
    responses: list[Response] = []
    tab.page.on("response", lambda response: responses.append(response))
    tab.visit(demo_site.url + page_path(demo_site, page))
    weight = Weight(page)
    for response in responses:
        kind = response.request.resource_type
        if kind not in COUNTED or response.status != 200:
            continue
        static = "/static/" in response.url
        if static and response.url in assets:
            weight.add_size(response.url, assets[response.url])
            continue
        body = response.body()
        if kind == "document":
            body = without_chart_data(body)
        size = weight.add(response.url, body)
        if static:
            assets[response.url] = size
    tab.context.close()
    return weight


def test_every_page_weighs_at_most_300_kb_compressed(demo_site: DemoSite, tabs: Tabs) -> None:
    assets: dict[str, int] = {}
    weights = sorted((weigh(demo_site, tabs, page, assets) for page in ALL_PAGES),
                     key=lambda w: -w.total)  # fmt: skip

    lines = [w.line() for w in weights]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    print("Heaviest pages (HTML+CSS+JS, gzip):", *lines[:10], sep="\n")  # noqa: T201 -- asked for
    too_heavy = [w.line() for w in weights if w.total > LIMIT]
    assert not too_heavy, "over 300 KB:\n" + "\n".join(too_heavy)
    assert all(w.total > 0 for w in weights), "a page was weighed as nothing"


def test_chart_data_is_left_out_of_the_weight() -> None:
    html = b'<p>x</p><script id="d" type="application/json">[1, 2, 3]</script><p>y</p>'
    assert without_chart_data(html) == (
        b'<p>x</p><script id="d" type="application/json"></script><p>y</p>'
    )
