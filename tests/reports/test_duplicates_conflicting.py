"""A report repeating a stored report's key (organization, report-id, date range) with
other content is a conflicting duplicate (issue 14): the first one stored stays and is
counted, the message is kept, and a page shows the two side by side. A resend of the
same report, however it is carried, stays a plain duplicate."""

import gzip
import io
import json
import re
import zipfile

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from accounts.models import ApiKey, Tenant
from reports.dashboards.explanations import explain
from reports.inbound.store import inbound_store
from reports.ingest.messages import backlog_drain
from reports.models import Channel, DailyStat, InboundMessage, Report, Status
from tests.factories import make_domain, make_tenant, owner_of
from tests.reports.helpers import corpus, domain_totals, ingest
from tests.reports.mail import report_email, report_json
from tests.web import login

pytestmark = pytest.mark.django_db

DOMAIN = "example.org"


def log_row(client: Client, message: InboundMessage) -> str:
    page = client.get(reverse("inbound_log", args=[message.tenant.slug])).content.decode()
    row = re.search(rf'<tr data-message="{message.pk}".*?</tr>', page, re.S)
    assert row is not None
    return row.group(0)


def rollups(tenant: Tenant) -> list[tuple]:
    with scope(tenant=tenant):
        return list(
            DailyStat.objects.order_by("pk").values_list(
                "successful", "failed", "counted_successful", "counted_failed", "reports"
            )
        )


def first_and_corrected(**changes: int) -> tuple[dict, dict]:
    first = report_json(domain=DOMAIN, report_id="r-1", successful=10, failed=2)
    corrected = json.loads(json.dumps(first))
    summary = corrected["policies"][0]["summary"]
    summary["total-successful-session-count"] = changes.get("successful", 13)
    return first, corrected


def test_an_identical_resend_stays_a_plain_duplicate(acme: Tenant) -> None:
    make_domain(acme, DOMAIN)
    document = report_json(domain=DOMAIN)
    ingest(acme, report_email(document))

    message, outcome = ingest(acme, report_email(document))

    assert outcome.status == message.status == Status.DUPLICATE
    assert explain(message.status, "") == "Already received: the same reports were stored before."
    with scope(tenant=acme):
        assert message.duplicate_of_id == Report.objects.get().pk


def test_the_same_key_with_other_numbers_is_a_conflicting_duplicate(
    acme: Tenant, owner: Client
) -> None:
    make_domain(acme, DOMAIN)
    first, corrected = first_and_corrected(successful=13)
    ingest(acme, report_email(first))
    before = rollups(acme), domain_totals(acme)
    raw = report_email(corrected)

    message, outcome = ingest(acme, raw)

    assert outcome.status == message.status == Status.DUPLICATE_CONFLICTING
    explanation = explain(message.status, message.error_code)
    assert "stored before with different content" in explanation
    assert "first one stored is kept" in explanation
    with scope(tenant=acme):
        stored = Report.objects.get()  # the first one, unchanged
    assert (stored.successful, stored.failed, stored.inbound_id) == (10, 2, stored.inbound_id)
    assert message.duplicate_of_id == stored.pk
    # Nothing counted it: rollups, the numbers every reader uses, stay as they were.
    assert (rollups(acme), domain_totals(acme)) == before == ([(10, 2, 10, 2, 1)], (10, 2))
    # The message is kept, its bytes retrievable.
    download = owner.get(reverse("inbound_raw", args=["acme", message.pk]))
    assert download.status_code == 200 and download.content == raw
    assert download["Content-Type"] == "application/octet-stream"
    assert "attachment" in download["Content-Disposition"]


def test_the_log_links_a_conflict_to_a_page_showing_both_sets_of_numbers(
    acme: Tenant, owner: Client
) -> None:
    make_domain(acme, DOMAIN)
    first, corrected = first_and_corrected(successful=13)
    ingest(acme, report_email(first))
    message, _ = ingest(acme, report_email(corrected))
    with scope(tenant=acme):
        stored = Report.objects.get()

    row = log_row(owner, message)
    page_url = reverse("inbound_conflict", args=["acme", message.pk])
    assert f'href="{page_url}"' in row and "Duplicate, conflicting" in row
    assert "stored before with different content" in row

    page = owner.get(page_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("report_detail", args=["acme", stored.pk]) in html
    assert reverse("inbound_raw", args=["acme", message.pk]) in html
    differing = re.findall(r'<tr class="table-warning" data-differs="yes">(.*?)</tr>', html, re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S) for r in differing]
    shown = {re.sub(r"<[^>]+>", "", c[0]).removesuffix(" differs"): (c[1], c[2]) for c in cells}
    whole = shown.pop("Whole report: SHA-256 of its JSON, keys sorted (first 16)")
    assert whole[0] != whole[1]
    assert shown == {
        "All policies: successful": ("10", "13"),
        f"sts policy for {DOMAIN}: successful": ("10", "13"),
    }
    assert "<td>r-1</td><td>r-1</td>" in html  # the same key, side by side


def test_another_tenant_gets_404_on_the_conflict_page_and_the_raw_message(
    acme: Tenant, client: Client
) -> None:
    make_domain(acme, DOMAIN)
    first, corrected = first_and_corrected()
    ingest(acme, report_email(first))
    message, _ = ingest(acme, report_email(corrected))
    other = make_tenant("other")
    login(client, owner_of(other))

    for name in ("inbound_conflict", "inbound_raw"):
        assert client.get(reverse(name, args=["acme", message.pk])).status_code == 404
        assert client.get(reverse(name, args=["other", message.pk])).status_code == 404


def test_a_gzipped_https_copy_of_an_emailed_report_is_identical(acme: Tenant) -> None:
    """Google's .eml and its attachment (the corpus), and the attachment's JSON written
    again with its keys in another order and spaces, posted gzipped to the HTTPS door."""
    make_domain(acme, "fastmaildmarc.com")
    emailed, _ = ingest(acme, corpus("google-2020-03-no-policy-found-fastmail.eml"))
    assert emailed.status == Status.PROCESSED
    attachment = corpus("google-2020-03-no-policy-found-fastmail.json.gz")
    document = json.loads(gzip.decompress(attachment))
    rewritten = json.dumps(dict(reversed(document.items())), indent=4).encode()
    assert rewritten != gzip.decompress(attachment)

    statuses = []
    for body in (attachment, gzip.compress(rewritten)):
        response = Client().post(
            f"/tlsrpt/{acme.inbound_token}", body, content_type="application/tlsrpt+gzip"
        )
        assert response.status_code == 201
        backlog_drain(seconds=60, wake=lambda: None)
        with scope(tenant=acme):
            statuses.append(InboundMessage.objects.get(pk=response.json()["id"]).status)

    assert statuses == [Status.DUPLICATE, Status.DUPLICATE]


def test_in_one_batch_the_first_is_stored_and_a_conflicting_one_marked() -> None:
    tenant = make_tenant("acme")
    make_domain(tenant, DOMAIN)
    first, corrected = first_and_corrected(successful=99)
    raws = [json.dumps(first).encode(), json.dumps(corrected).encode(), report_email(first)]
    ids = [
        inbound_store(tenant=tenant, channel=Channel.UPLOAD, raw=raw, queue=False).pk
        for raw in raws
    ]

    backlog_drain(seconds=60, wake=lambda: None)

    with scope(tenant=tenant):
        report = Report.objects.get()
        outcome = dict(InboundMessage.objects.values_list("pk", "status"))
        linked = dict(InboundMessage.objects.values_list("pk", "duplicate_of"))
    assert [outcome[i] for i in ids] == [
        Status.PROCESSED, Status.DUPLICATE_CONFLICTING, Status.DUPLICATE,
    ]  # fmt: skip
    assert [linked[i] for i in ids] == [None, report.pk, report.pk]
    assert (report.successful, report.failed) == (10, 2)


def test_a_message_with_one_conflicting_report_among_several_is_conflicting(
    acme: Tenant,
) -> None:
    make_domain(acme, DOMAIN)
    first, corrected = first_and_corrected()
    fresh = report_json(domain=DOMAIN, report_id="r-2")
    ingest(acme, json.dumps(first).encode())
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("fresh.json", json.dumps(fresh))
        z.writestr("corrected.json", json.dumps(corrected))

    message, _ = ingest(acme, archive.getvalue(), "two.zip")

    assert message.status == Status.DUPLICATE_CONFLICTING
    with scope(tenant=acme):
        stored = dict(Report.objects.values_list("report_id", "successful"))
    assert stored == {"r-1": 10, "r-2": 10}  # the new one stored, the first r-1 kept


def test_the_api_says_a_message_conflicts(acme: Tenant) -> None:
    make_domain(acme, DOMAIN)
    first, corrected = first_and_corrected()
    ingest(acme, report_email(first))
    message, _ = ingest(acme, report_email(corrected))
    secret = ApiKey.objects.create_key(tenant=acme, name="t")[1]

    body = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(f"/api/v1/inbound/{message.pk}").json()

    assert body["status"] == "duplicate_conflicting"
    assert body["duplicate_of"] == message.duplicate_of_id
    assert "different content" in body["explanation"]
