"""The domain dashboard's MX host by day heatmap and its reporter by day grid, on two months
of realistic reports (tests/reports/dashboard_data.py)."""

import re
from datetime import date

import pytest
from django.urls import reverse

from reports.dashboards.heatmaps import heat_level
from tests.reports import dashboard_data
from tests.reports.dashboard_data import BREAK, GAP_DAYS, NAME, SILENT_AFTER

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("failed", "sessions", "level"),
    [(0, 100, 0), (1, 1000, 1), (10, 1000, 2), (49, 1000, 2), (50, 1000, 3), (412, 1020, 4),
     (600, 1000, 5), (3, 0, 5)],
)  # fmt: skip
def test_a_failure_rate_falls_in_its_bucket(failed: int, sessions: int, level: int) -> None:
    assert heat_level(failed, sessions) == level


def row(page: str, attribute: str, value: str) -> str:
    found = re.search(rf'<tr {attribute}="{re.escape(value)}".*?</tr>', page, re.S)
    assert found is not None, value
    return found[0]


def cell(row_html: str, day: date) -> tuple[str, str]:
    """(class, accessible text) of the row's cell of ``day``."""
    found = re.search(rf'<td class="([^"]+)" title="([^"]*, {day.isoformat()}[:][^"]*)"', row_html)
    assert found is not None, day
    return found[1], found[2]


def test_the_heatmap_shows_the_broken_mx_first_and_the_silent_reporter(acme, owner) -> None:
    built = dashboard_data.build(acme)
    url = reverse("domain_dashboard", args=["acme", built.domain.pk])
    params = {"from": built.first.isoformat(), "to": built.last.isoformat()}
    page = owner.get(url, params).content.decode()

    heatmap = re.search(r'<table class="heatmap[^"]*" id="mx-heatmap">.*?</table>', page, re.S)
    assert heatmap is not None
    hosts = re.findall(r'<tr data-mx="([^"]+)"', heatmap[0])
    assert hosts == [f"mx2.{NAME}", f"mx3.{NAME}"]  # worst first; mx1 never failed: no row
    mx2 = row(page, "data-mx", f"mx2.{NAME}")
    css, text = cell(mx2, BREAK)
    assert css == "heat-4"  # about a third of the domain's sessions failed there that day
    assert re.search(r"[\d,]+ failed of [\d,]+ sessions \(3\d %\)", text), text
    for day in GAP_DAYS:
        assert cell(mx2, day) == ("heat-empty", f"mx2.{NAME}, {day.isoformat()}: no reports")
    assert cell(mx2, built.last)[0] == "heat-0"
    assert len(re.findall(r"<td ", mx2)) == 60
    assert "the domain's sessions" in page  # the rate is defined under the heatmap
    assert "No reports" in page and "50 % or more" in page  # a legend in words

    silent = row(page, "data-reporter", "Mail.ru")
    assert 'data-silent="true"' in silent and "Silent since" in silent
    assert cell(silent, SILENT_AFTER)[0] == "grid-on"
    assert cell(silent, built.last) == ("grid-off", f"Mail.ru, {built.last.isoformat()}: no report")
    google = row(page, "data-reporter", "Google Inc.")
    assert "Silent" not in google
    assert cell(google, BREAK)[0] == "grid-fail"
    assert cell(google, GAP_DAYS[0])[0] == "grid-off"
