"""Uploading report files, and the ingest log with its explanations and reprocessing."""

import gzip
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant
from domains.models import Domain
from reports.ingest.messages import message_run
from reports.models import InboundMessage, Report, Status
from tests.conftest import wait_until
from tests.factories import make_domain, make_tenant, owner_of
from tests.reports.mail import report_email, report_json
from tests.web import fresh_client, login


def files(*named: tuple[str, bytes]) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(name, data) for name, data in named]


def statuses(tenant: Tenant) -> dict[str, str]:
    with scope(tenant=tenant):
        return dict(InboundMessage.objects.values_list("filename", "status"))


@pytest.mark.django_db(transaction=True)
def test_uploaded_files_are_processed_and_their_outcome_shown(celery_worker: object) -> None:
    acme = make_tenant("acme")
    make_domain(acme, "example.org")
    client = fresh_client()
    login(client, owner_of(acme))
    gz = gzip.compress(json.dumps(report_json(domain="example.org")).encode())
    eml = report_email(report_json(domain="example.org"))

    response = client.post(
        reverse("upload", args=["acme"]),
        {"files": files(("a.json.gz", gz), ("b.eml", eml), ("c.json", b"{nope"))},
    )
    assert response.status_code == 302
    wait_until(lambda: Status.RECEIVED not in statuses(acme).values())
    page = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()

    assert statuses(acme) == {"a.json.gz": "processed", "b.eml": "processed", "c.json": "failed"}
    assert "The report is not valid JSON." in page and "every 1s" not in page
    with scope(tenant=acme):
        assert Report.objects.count() == 2


@pytest.mark.django_db
def test_files_of_other_kinds_are_refused() -> None:
    acme = make_tenant("acme")
    client = fresh_client()
    login(client, owner_of(acme))
    response = client.post(reverse("upload", args=["acme"]), {"files": files(("x.exe", b"MZ"))})
    assert "x.exe: not a .json, .json.gz, .zip or .eml file." in response.content.decode()
    assert statuses(acme) == {}


@pytest.mark.django_db
def test_the_log_explains_outcomes_and_reprocesses_after_verification(
    client: Client,
) -> None:
    acme, other = make_tenant("acme"), make_tenant("other")
    domain = make_domain(acme, "example.org", verified=False)
    from tests.reports.helpers import ingest

    message, _ = ingest(acme, report_email(report_json(domain="example.org")))
    ingest(other, b"from another tenant")
    login(client, owner_of(acme))

    page = client.get(reverse("inbound_log", args=["acme"])).content.decode()
    assert "Verify the domain, then reprocess." in page
    assert page.count("data-message=") == 1
    assert "Messages are kept for 90 days" in page

    with scopes_disabled():
        Domain.objects.filter(pk=domain.pk).update(verified_at=message.received_at)
    with scope(tenant=acme):
        client.post(reverse("inbound_reprocess", args=["acme", message.pk]))
        message.refresh_from_db()
    assert message.status == Status.RECEIVED
    assert message_run(message_id=message.pk).status == Status.PROCESSED
    filtered = client.get(reverse("inbound_log", args=["acme"]) + "?status=processed")
    assert f'data-message="{message.pk}"' in filtered.content.decode()


@pytest.mark.django_db
def test_a_message_stored_while_the_broker_is_down_is_queued_by_the_sweep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reports import tasks
    from reports.inbound.store import inbound_store

    acme = make_tenant("acme")

    def broker_down(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.drain_inbound, "delay", broker_down)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        message = inbound_store(tenant=acme, channel="smtp", raw=b"x")
    with scope(tenant=acme):
        message.refresh_from_db()
    assert message.queue_failed_at is not None and message.status == Status.RECEIVED

    # The failed wake-up left no "drain queued" flag behind: the sweep's wake-up queues.
    queued: list[str] = []
    monkeypatch.setattr(tasks.drain_inbound, "delay", lambda: queued.append("drain"))
    assert tasks.queue_unqueued_inbound() == 1
    assert queued == ["drain"]
    with scope(tenant=acme):
        message.refresh_from_db()
    assert message.queue_failed_at is None
