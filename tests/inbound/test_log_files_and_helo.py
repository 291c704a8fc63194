"""Postfix's reports through the app (issue 12): the ingest log names an e-mailed report's
file and links a duplicate to the report it repeats; the EHLO answer stays verbatim in
the database, the API, the CSV export and the report page."""

import csv
import gzip
import io
import re

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from accounts.models import ApiKey
from reports.inbound.store import inbound_store
from reports.ingest.messages import backlog_drain
from reports.models import Channel, FailureDetail, InboundMessage, Report, Status
from tests.factories import make_domain, make_tenant, owner_of
from tests.reports.helpers import ingest
from tests.tlsrpt.builders import as_crlf, report_mail
from tests.tlsrpt.postfix import EHLO, postfix_filename, postfix_json
from tests.web import login

pytestmark = pytest.mark.django_db

HELO = EHLO.format(domain="Example.COM")


def postfix_mail(**kwargs) -> bytes:
    attachment = gzip.compress(postfix_json("example.com", helo=HELO, **kwargs))
    return as_crlf(report_mail(attachment, filename=postfix_filename("example.com")))


def log_row(client: Client, message: InboundMessage) -> str:
    page = client.get(reverse("inbound_log", args=[message.tenant.slug])).content.decode()
    row = re.search(rf'<tr data-message="{message.pk}".*?</tr>', page, re.S)
    assert row is not None
    return row.group(0)


def test_an_emailed_report_shows_its_attachments_file_name(client: Client) -> None:
    tenant = make_tenant("acme")
    make_domain(tenant, "example.com")
    message = inbound_store(tenant=tenant, channel=Channel.SMTP, raw=postfix_mail(), queue=False)
    login(client, owner_of(tenant))

    backlog_drain(seconds=60, wake=lambda: None)

    row = log_row(client, message)
    shown = re.search(r'<td data-label="File"[^>]*>(.*?)</td>', row)
    assert shown is not None and shown.group(1) == postfix_filename("example.com")


def test_duplicates_link_to_the_report_they_repeat(client: Client) -> None:
    tenant = make_tenant("acme")
    make_domain(tenant, "example.com")
    first, _ = ingest(tenant, postfix_mail())
    # Two more copies in one batch: each repeats the stored report.
    copies = [
        inbound_store(tenant=tenant, channel=Channel.SMTP, raw=postfix_mail(), queue=False)
        for _ in range(2)
    ]
    backlog_drain(seconds=60, wake=lambda: None)
    login(client, owner_of(tenant))

    with scope(tenant=tenant):
        report = Report.objects.get()
        rows = list(InboundMessage.objects.filter(pk__in=[c.pk for c in copies]))
    assert first.status == Status.PROCESSED and first.duplicate_of_id is None
    assert [(m.status, m.duplicate_of_id) for m in rows] == [(Status.DUPLICATE, report.pk)] * 2
    link = reverse("report_detail", args=["acme", report.pk])
    assert f'href="{link}"' in log_row(client, copies[0])
    assert client.get(link).status_code == 200


def test_a_duplicate_within_one_batch_links_to_the_report_stored_by_the_batch() -> None:
    tenant = make_tenant("acme")
    make_domain(tenant, "example.com")
    ids = [
        inbound_store(tenant=tenant, channel=Channel.UPLOAD, raw=postfix_json(), queue=False).pk
        for _ in range(2)
    ]

    backlog_drain(seconds=60, wake=lambda: None)

    with scope(tenant=tenant):
        report = Report.objects.get()
        outcome = dict(InboundMessage.objects.filter(pk__in=ids).values_list("pk", "duplicate_of"))
    assert outcome == {ids[0]: None, ids[1]: report.pk}


def test_the_ehlo_answer_is_kept_verbatim_in_database_api_csv_and_page(client: Client) -> None:
    tenant = make_tenant("acme")
    make_domain(tenant, "example.com")
    ingest(tenant, postfix_mail())
    login(client, owner_of(tenant))
    with scope(tenant=tenant):
        report = Report.objects.get()
        helos = dict(FailureDetail.objects.values_list("result_type", "receiving_mx_helo"))
    assert helos == {"tlsa-invalid": HELO, "certificate-expired": "mx2.example.com"}

    secret = ApiKey.objects.create_key(tenant=tenant, name="t")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    detail = api.get(f"/api/v1/reports/{report.pk}").json()
    shown = [d["receiving_mx_helo"] for p in detail["policies"] for d in p["failure_details"]]
    assert HELO in shown

    export = client.get(
        reverse("export_csv", args=["acme", "failures"]) + "?from=2025-10-01&to=2025-10-01"
    )
    text = export.getvalue().decode()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert HELO in [r["receiving_mx_helo"] for r in rows]

    page = client.get(reverse("report_detail", args=["acme", report.pk])).content.decode()
    assert f'<pre class="small mb-0 receiving-mx-helo">{HELO}</pre>' in page
