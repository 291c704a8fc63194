"""The report page (issue 18): a summary, each failure type's meaning and fix as the
dashboard says them, links to that day's dashboard and to the message the report came in,
the JSON as sent (re-indented, never re-encoded), and a paged table of failure details
that stays small for a report of 100,000 of them."""

import gzip
import html
import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from accounts.models import Tenant
from reports.dashboards.advice import advice
from reports.dashboards.json_text import json_indented
from reports.models import FailureDetail, PolicyResult, Report
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import ingest
from tests.reports.mail import report_json

pytestmark = pytest.mark.django_db


def stored(acme: Tenant, document: dict | None = None, raw: bytes | None = None) -> Report:
    make_domain(acme, "example.org")
    document = document or report_json(domain="example.org", successful=40, failed=5)
    ingest(acme, raw or json.dumps(document).encode(), "r.json")
    with scope(tenant=acme):
        return Report.objects.get()


def page(client: Client, report: Report, query: str = "") -> str:
    response = client.get(reverse("report_detail", args=["acme", report.pk]) + query)
    assert response.status_code == 200
    return response.content.decode()


def details(acme: Tenant, report: Report, n: int, types: tuple[str, ...]) -> None:
    """n failure details on the report's policy: detail i has i + 1 failed sessions."""
    # Issue 19 partitions the details by their policy's day, when that has landed.
    fields = {f.name for f in FailureDetail._meta.get_fields()}
    with scope(tenant=acme):
        policy = PolicyResult.objects.get(report=report)
        day = {"day": policy.day} if "day" in fields else {}
        FailureDetail.objects.all().delete()
        FailureDetail.objects.bulk_create(
            (
                FailureDetail(
                    tenant=acme,
                    policy=policy,
                    **day,
                    result_type=types[i % len(types)],
                    receiving_mx_hostname=f"mx{i}.example.org",
                    failed_session_count=i + 1,
                )
                for i in range(n)
            ),
            batch_size=5000,
        )


def shown_rows(text: str) -> list[int]:
    """The failed-session counts of the table's rows, in order."""
    rows = re.findall(r'<tr data-detail="\d+">.*?</tr>', text, re.S)
    return [int(re.findall(r'class="text-end num">([\d,]+)<', r)[0].replace(",", "")) for r in rows]


def test_a_report_of_100000_details_is_a_small_page_of_the_largest(
    acme: Tenant, owner: Client, django_assert_max_num_queries
) -> None:
    report = stored(acme)
    details(acme, report, 100_000, ("certificate-expired", "starttls-not-supported"))
    # Its JSON as a sender would send it: some 10 MB.
    big = report_json(domain="example.org", successful=0, failed=1)
    detail = big["policies"][0]["failure-details"][0]
    big["policies"][0]["failure-details"] = [dict(detail) for _ in range(100_000)]
    with scope(tenant=acme):
        Report.objects.filter(pk=report.pk).update(
            raw_json_gz=gzip.compress(json.dumps(big, indent=2).encode(), 1)
        )

    with django_assert_max_num_queries(9):
        text = page(owner, report)

    assert len(text.encode()) < 150_000
    assert shown_rows(text) == list(range(100_000, 99_900, -1))
    assert "1\u2013100 of 100,000" in text and "Page 1 of 1,000" in text
    # Per type, summed by the database: odd counts are one type, even ones the other.
    expired = sum(range(1, 100_001, 2))
    assert f"{expired:,} sessions in 50,000 rows" in text
    assert f"{sum(range(2, 100_001, 2)):,} sessions in 50,000 rows" in text
    # The JSON is not inlined: a start of it, and the download.
    assert 'id="json-truncated"' in text
    assert reverse("report_raw", args=["acme", report.pk]) in text


def test_the_next_page_and_one_type_continue_in_order(acme: Tenant, owner: Client) -> None:
    report = stored(acme)
    details(acme, report, 250, ("certificate-expired", "starttls-not-supported"))

    second = page(owner, report, "?page=2")
    last = page(owner, report, "?page=99")  # past the end: the last page
    expired = page(owner, report, "?result_type=certificate-expired&page=2")

    assert shown_rows(second) == list(range(150, 50, -1))
    assert shown_rows(last) == list(range(50, 0, -1)) and "Page 3 of 3" in last
    assert shown_rows(expired) == list(range(49, 0, -2))
    assert "101\u2013125 of 125" in expired


def test_each_failure_type_says_what_the_dashboard_says(acme: Tenant, owner: Client) -> None:
    report = stored(acme)
    details(acme, report, 4, ("certificate-expired", "validation-failure"))

    text = html.unescape(page(owner, report))

    for result_type in ("certificate-expired", "validation-failure"):
        said = advice(result_type, "example.org")
        assert said.title in text and said.meaning in text and said.fix in text
    assert "starttls-not-supported" not in text


def test_a_report_without_failures_says_so(acme: Tenant, owner: Client) -> None:
    report = stored(acme, report_json(domain="example.org", successful=9, failed=0))

    text = page(owner, report)

    assert 'id="no-failures"' in text and 'id="failures"' not in text


def test_it_links_to_that_days_dashboard_and_the_message(acme: Tenant, owner: Client) -> None:
    report = stored(acme)
    with scope(tenant=acme):
        domain = report.policies.get().domain
    assert domain is not None

    text = page(owner, report)

    dashboard = reverse("domain_dashboard", args=["acme", domain.pk])
    assert f'href="{dashboard}?from=2026-11-01&amp;to=2026-11-01"' in text
    assert f'href="{reverse("inbound_raw", args=["acme", report.inbound_id])}"' in text
    assert f"{reverse('inbound_log', args=['acme'])}?message={report.inbound_id}" in text


def test_the_json_is_the_one_sent_re_indented(acme: Tenant, owner: Client) -> None:
    document = report_json(domain="example.org", organization="Exampl\u00e9")
    raw = json.dumps(document).encode()  # "\u00e9" escaped, as sent
    report = stored(acme, raw=raw)

    text = page(owner, report)

    pre = re.search(r'<pre class="json-text" id="raw-json"[^>]*>(.*?)</pre>', text, re.S)
    assert pre is not None
    shown = html.unescape(pre[1])
    assert shown == json_indented(raw.decode())
    assert "Exampl\\u00e9" in shown  # not rewritten
    assert json.loads(shown) == document
    assert 'data-copy="#raw-json"' in text


def test_the_helo_column_is_there_only_when_a_row_has_one(acme: Tenant, owner: Client) -> None:
    report = stored(acme)
    without = page(owner, report)
    with scope(tenant=acme):
        FailureDetail.objects.update(receiving_mx_helo="mx.example.org ESMTP\nSTARTTLS")

    with_helo = page(owner, report)

    assert "HELO / EHLO" not in without
    assert "HELO / EHLO" in with_helo and "mx.example.org ESMTP\nSTARTTLS</pre>" in with_helo


def test_it_checks_ownership(acme: Tenant, owner: Client) -> None:
    theirs = make_tenant("other")
    make_domain(theirs, "example.net")
    ingest(theirs, json.dumps(report_json(domain="example.net")).encode())
    with scope(tenant=theirs):
        report = Report.objects.get()

    response = owner.get(reverse("report_detail", args=["acme", report.pk]))

    assert response.status_code == 404
