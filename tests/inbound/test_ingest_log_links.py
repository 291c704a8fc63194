"""The ingest log leads somewhere (issue 18): a processed message to its reports, a
duplicate to the report it repeats, an unattributed one to the domain its report named
(to add, or to verify), and Reprocess back to the log as it was filtered."""

import io
import json
import re
import zipfile

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from accounts.models import ApiKey, Role, Tenant
from reports.models import InboundMessage, Report
from tests.factories import make_domain, make_member, make_tenant
from tests.reports.helpers import ingest
from tests.reports.mail import report_json
from tests.web import fresh_client, login

pytestmark = pytest.mark.django_db

LOG = "/t/acme/inbound/"


def report(domain: str = "example.org", **kwargs) -> bytes:
    return json.dumps(report_json(domain=domain, **kwargs)).encode()


def two_reports() -> bytes:
    """A zip holding two reports: one message, two stored reports."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.json", report(organization="Google"))
        archive.writestr("b.json", report(organization="Microsoft"))
    return buffer.getvalue()


def row(client: Client, message: InboundMessage, query: str = "") -> str:
    page = client.get(LOG + query).content.decode()
    found = re.search(rf'<tr data-message="{message.pk}".*?</tr>', page, re.S)
    assert found is not None, page[:2000]
    return found.group(0)


def as_role(tenant: Tenant, role: Role) -> Client:
    client = fresh_client()
    login(client, make_member(tenant, role).user)
    return client


def test_a_processed_message_links_to_its_report(acme: Tenant, owner: Client) -> None:
    make_domain(acme, "example.org")
    message, _ = ingest(acme, report())
    with scope(tenant=acme):
        stored = Report.objects.get()

    shown = row(owner, message)

    assert f'href="{reverse("report_detail", args=["acme", stored.pk])}"' in shown


def test_a_message_of_two_reports_links_to_the_list_of_them(acme: Tenant, owner: Client) -> None:
    make_domain(acme, "example.org")
    ingest(acme, report(organization="Yahoo"), "other.json")
    message, _ = ingest(acme, two_reports(), "two.zip")

    shown = row(owner, message)
    link = re.search(r'href="([^"]+)" data-reports-of="\d+">See its 2 reports<', shown)
    assert link is not None
    listed = owner.get(link.group(1).replace("&amp;", "&")).content.decode()

    with scope(tenant=acme):
        carried = set(Report.objects.filter(inbound=message).values_list("pk", flat=True))
    assert {int(pk) for pk in re.findall(r'data-report="(\d+)"', listed)} == carried
    assert len(carried) == 2


def test_the_api_filters_reports_by_message_as_the_page_does(acme: Tenant) -> None:
    make_domain(acme, "example.org")
    ingest(acme, report(organization="Yahoo"), "other.json")
    message, _ = ingest(acme, two_reports(), "two.zip")
    secret = ApiKey.objects.create_key(tenant=acme, name="t")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    listed = api.get(f"/api/v1/reports?inbound={message.pk}").json()["results"]
    wrong = api.get("/api/v1/reports?inbound=x")

    assert sorted(r["organization"] for r in listed) == ["Google", "Microsoft"]
    assert wrong.status_code == 400


def test_a_duplicate_links_to_the_report_it_repeats(acme: Tenant, owner: Client) -> None:
    make_domain(acme, "example.org")
    raw = report(report_id="same")
    ingest(acme, raw, "first.json")
    again, _ = ingest(acme, raw, "again.json")
    with scope(tenant=acme):
        stored = Report.objects.get()

    shown = row(owner, again)

    assert again.status == "duplicate"
    assert f'href="{reverse("report_detail", args=["acme", stored.pk])}"' in shown
    assert "See the report it repeats" in shown


def test_an_unattributed_message_names_its_domain_and_offers_to_add_it(acme: Tenant) -> None:
    message, _ = ingest(acme, report(domain="Not-Yet.example."))
    admin, viewer = as_role(acme, Role.ADMIN), as_role(acme, Role.VIEWER)

    for_admin, for_viewer = row(admin, message), row(viewer, message)

    assert message.status == "unattributed"
    add = f"{reverse('domain_list', args=['acme'])}?name=not-yet.example"
    assert f'href="{add}#add-title"' in for_admin and "Add this domain" in for_admin
    assert "not-yet.example" in for_viewer
    assert "Add this domain" not in for_viewer and "an admin can add it" in for_viewer


def test_an_unattributed_message_of_an_unverified_domain_says_verify(
    acme: Tenant, owner: Client
) -> None:
    domain = make_domain(acme, "example.org", verified=False)
    message, _ = ingest(acme, report())

    shown = row(owner, message)

    assert f'href="{reverse("domain_detail", args=["acme", domain.pk])}">Verify it<' in shown
    assert "Add this domain" not in shown


def test_reprocess_goes_back_to_the_log_as_it_was_filtered(acme: Tenant, owner: Client) -> None:
    message, _ = ingest(acme, report())
    action = reverse("inbound_reprocess", args=["acme", message.pk])
    shown = row(owner, message, "?status=unattributed")
    assert 'name="next" value="/t/acme/inbound/?status=unattributed"' in shown

    back = owner.post(action, {"next": LOG + "?status=unattributed&page=1"})

    assert back.status_code == 302 and back["Location"] == LOG + "?status=unattributed&page=1"


@pytest.mark.parametrize(
    "wanted",
    ["https://evil.example/t/acme/inbound/", "//evil.example/t/acme/inbound/", "/t/acme/reports/"],
)
def test_reprocess_goes_nowhere_but_the_log(acme: Tenant, owner: Client, wanted: str) -> None:
    message, _ = ingest(acme, report())

    back = owner.post(reverse("inbound_reprocess", args=["acme", message.pk]), {"next": wanted})

    assert back["Location"] == LOG


def test_one_message_of_another_tenant_is_not_shown(acme: Tenant, owner: Client) -> None:
    theirs, _ = ingest(make_tenant("other"), report())

    page = owner.get(LOG + f"?message={theirs.pk}").content.decode()

    assert "data-message=" not in page and "No messages match this filter" in page
