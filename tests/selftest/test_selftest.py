"""The self-test: a synthetic report sent through the real SMTP door (and HTTPS door),
processed by a real worker, shown as a test and counted nowhere."""

import json
import re
import socket
import uuid
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from accounts.models import KeyScope, Tenant
from reports.dashboards.onboarding import checklist
from reports.models import DailyFailure, DailyStat, InboundMessage, Report, Status
from reports.selftest.build import ORGANIZATION
from reports.selftest.models import SelfTest
from reports.selftest.services import self_test_create
from reports.selftest.tasks import run_self_test
from tests.api.test_api import api, key_for
from tests.conftest import wait_until
from tests.factories import make_domain, make_tenant, owner_of
from tests.reports.helpers import domain_totals, ingest
from tests.reports.mail import report_email, report_json
from tests.selftest.helpers import self_test_ingested
from tests.web import fresh_client, login


def _page(client: Client, url: str) -> str:
    return client.get(url).content.decode()


def _steps(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-step="(\w+)" data-state="(\w+)"', html))


def _finished(client: Client, url: str) -> str:
    """The progress page once the self-test has passed or failed (what htmx polls)."""
    seen: dict[str, str] = {}

    def done() -> bool:
        seen["html"] = _page(client, url)
        return 'data-outcome="running"' not in seen["html"]

    wait_until(done, timeout=60, interval=0.2)
    return seen["html"]


@pytest.mark.usefixtures("celery_worker")
def test_the_button_sends_a_test_report_through_the_smtp_door_and_the_worker(
    acme: Tenant, owner: Client, door: tuple[str, int]
) -> None:
    domain = make_domain(acme, "example.org")
    detail = _page(owner, reverse("domain_detail", args=["acme", domain.pk]))
    assert 'id="self-test-send"' in detail

    response = owner.post(reverse("self_test_start", args=["acme", domain.pk]))
    assert response.status_code == 302
    html = _finished(owner, response["Location"])

    assert 'data-outcome="passed"' in html, html
    assert _steps(html) == dict.fromkeys(["smtp", "stored", "processed", "shown"], "done")
    assert f"The SMTP door at {door[0]}:{door[1]} took it" in html
    with scope(tenant=acme):
        report = Report.objects.get()
        message = InboundMessage.objects.get()
        assert report.is_test and report.organization == ORGANIZATION
        assert (message.channel, message.status) == ("smtp", Status.PROCESSED)
        assert not DailyStat.objects.exists() and not DailyFailure.objects.exists()
    assert reverse("report_detail", args=["acme", report.pk]) in html
    assert reverse("inbound_log", args=["acme"]) in html
    assert 'hx-trigger="every 2s"' not in html  # finished: the page stops polling
    listed = _page(owner, reverse("report_list", args=["acme"]))
    assert "data-test-badge" in listed
    days = api(key_for(acme)).get(f"/api/v1/stats/daily?domain={domain.pk}").json()
    assert sum(d["successful"] + d["failed"] for d in days) == 0


@pytest.mark.usefixtures("celery_worker")
def test_the_https_variant_goes_through_the_https_door_too(
    acme: Tenant, owner: Client, door: tuple[str, int], gunicorn_server, settings
) -> None:
    settings.SELF_TEST_HTTPS_URL = f"http://{gunicorn_server.host}:{gunicorn_server.port}"
    domain = make_domain(acme, "example.org")

    response = owner.post(reverse("self_test_start", args=["acme", domain.pk]), {"https": "1"})
    html = _finished(owner, response["Location"])

    assert 'data-outcome="passed"' in html, html
    assert _steps(html) == dict.fromkeys(["smtp", "https", "stored", "processed", "shown"], "done")
    with scope(tenant=acme):
        messages = sorted(InboundMessage.objects.values_list("channel", "status"))
        assert Report.objects.get().is_test
        assert not DailyStat.objects.exists()
    # The same report twice: one copy stored, the other recognised as the same report.
    assert [c for c, _ in messages] == ["https", "smtp"]
    assert sorted(s for _, s in messages) == [Status.DUPLICATE, Status.PROCESSED]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_a_door_that_does_not_answer_is_named(acme: Tenant, owner: Client, settings) -> None:
    port = _closed_port()
    settings.SELF_TEST_SMTP_HOST, settings.SELF_TEST_SMTP_PORT = "127.0.0.1", port
    settings.INBOUND_SMTP_LMTP = False
    domain = make_domain(acme, "example.org")
    with scope(tenant=acme):
        test = self_test_create(domain=domain, actor=None)

    assert run_self_test(test.pk) == "failed"

    url = reverse("self_test_progress", args=["acme", domain.pk, test.pk])
    html = _page(owner, url)
    assert 'data-outcome="failed"' in html
    assert _steps(html)["smtp"] == "failed"
    named = f"the SMTP door at 127.0.0.1:{port} did not answer (connection refused)"
    assert named in html
    with scope(tenant=acme):
        assert not InboundMessage.objects.exists()
    partial = owner.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="self-test" data-outcome="failed"')
    assert "hx-trigger" not in partial and "<html" not in partial


@pytest.mark.django_db
def test_the_page_polls_every_two_seconds_while_running(acme: Tenant, owner: Client) -> None:
    domain = make_domain(acme, "example.org")
    with scope(tenant=acme):
        test = self_test_create(domain=domain, actor=None)
    url = reverse("self_test_progress", args=["acme", domain.pk, test.pk])

    partial = owner.get(url, HTTP_HX_REQUEST="true").content.decode()

    assert 'data-outcome="running"' in partial
    assert f'hx-get="{url}" hx-trigger="every 2s"' in partial
    assert _steps(partial)["smtp"] == "waiting"


@pytest.mark.django_db
def test_a_strangers_report_dressed_as_a_self_test_is_counted() -> None:
    """The marks alone make no test: without the tenant's own SelfTest row (another
    tenant's row with the same report-id does not count) the report is a real one."""
    acme, globex = make_tenant("acme"), make_tenant("globex")
    domain = make_domain(acme, "example.org")
    report_id = f"selftest-{uuid.uuid4().hex}"
    with scope(tenant=globex):
        SelfTest.objects.create(
            tenant=globex, domain=make_domain(globex, "globex.example"), report_id=report_id
        )
    document = report_json(domain=domain.name, organization=ORGANIZATION, report_id=report_id)

    message, _ = ingest(acme, report_email(document))

    assert message.status == Status.PROCESSED
    with scope(tenant=acme):
        assert not Report.objects.get().is_test
    assert domain_totals(acme) == (10, 2)


@pytest.mark.django_db
def test_the_api_starts_a_self_test_and_reports_its_steps(acme: Tenant) -> None:
    domain = make_domain(acme, "example.org")
    client = api(key_for(acme, KeyScope.WRITE))

    started = client.post(
        f"/api/v1/domains/{domain.pk}/self-test", json.dumps({"https": True}),
        content_type="application/json",
    )  # fmt: skip

    assert started.status_code == 202, started.content
    body = started.json()
    with scope(tenant=acme):
        test = SelfTest.objects.get()
    assert body["id"] == test.pk and body["outcome"] == "running"
    assert body["status_url"].endswith(f"/api/v1/domains/{domain.pk}/self-test/{test.pk}")
    status = client.get(body["status_url"]).json()
    assert [s["key"] for s in status["steps"]] == ["smtp", "https", "stored", "processed", "shown"]
    assert status["steps"][0]["state"] == "waiting"
    read_only = api(key_for(acme)).post(f"/api/v1/domains/{domain.pk}/self-test")
    assert read_only.status_code == 403


@pytest.mark.django_db
def test_the_button_is_limited_per_domain_and_hour(acme: Tenant, settings) -> None:
    settings.SELF_TEST_PER_HOUR = 2
    domain = make_domain(acme, "example.org")
    client = api(key_for(acme, KeyScope.WRITE))
    path = f"/api/v1/domains/{domain.pk}/self-test"

    answers = [client.post(path).status_code for _ in range(3)]

    assert answers == [202, 202, 429]
    with scope(tenant=acme):
        assert SelfTest.objects.count() == 2


@pytest.mark.django_db
def test_another_tenants_self_test_is_404(acme: Tenant) -> None:
    domain = make_domain(acme, "example.org")
    with scope(tenant=acme):
        test = self_test_create(domain=domain, actor=None)
    globex = make_tenant("globex")
    make_domain(globex, "globex.example")
    stranger = fresh_client()
    login(stranger, owner_of(globex))

    mine = reverse("self_test_progress", args=["acme", domain.pk, test.pk])
    under_theirs = reverse("self_test_progress", args=["globex", domain.pk, test.pk])
    assert stranger.get(mine).status_code == 404
    assert stranger.get(under_theirs).status_code == 404
    assert stranger.post(reverse("self_test_start", args=["globex", domain.pk])).status_code == 404
    theirs = api(key_for(globex, KeyScope.WRITE))
    assert theirs.get(f"/api/v1/domains/{domain.pk}/self-test/{test.pk}").status_code == 404
    assert theirs.post(f"/api/v1/domains/{domain.pk}/self-test").status_code == 404
    with scope(tenant=acme):
        assert SelfTest.objects.count() == 1


def test_the_report_is_google_shaped_and_marked() -> None:
    from reports.selftest.build import self_test_email, self_test_report
    from reports.tlsrpt import extract

    now = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    document = self_test_report(domain="example.org", report_id="selftest-1", now=now)
    raw = self_test_email(
        document, sender="a@b.example", to="t@reports.localhost", submitter="b.example", now=now
    )

    assert b"\r\n" in raw and b"\r\r" not in raw
    assert b"Content-Type: application/tlsrpt+gzip" in raw
    assert b'filename="selftest!example.org!' in raw
    envelope = extract(raw)
    [found] = envelope.reports
    assert envelope.headers and envelope.headers.tls_report_domain == "example.org"
    assert found.report.organization_name == ORGANIZATION
    assert found.report.report_id == "selftest-1"
    assert found.report.start == datetime(2026, 12, 5, tzinfo=UTC)
    assert [(p.successful, p.failed) for p in found.report.policies] == [(9, 1)]


@pytest.mark.django_db
def test_a_self_test_report_does_not_tick_the_first_report_step(acme: Tenant) -> None:
    domain = make_domain(acme, "example.org")
    self_test_ingested(acme, domain, datetime.now(UTC))
    with scope(tenant=acme):
        steps = {step.key: step.done for step in checklist([domain]).steps}
    assert steps["receive"] is False
    ingest(acme, report_email(report_json(domain="example.org")))
    with scope(tenant=acme):
        steps = {step.key: step.done for step in checklist([domain]).steps}
    assert steps["receive"] is True


@pytest.mark.django_db
def test_an_id_past_64_bits_is_404_not_an_error(acme: Tenant, owner: Client) -> None:
    domain = make_domain(acme, "example.org")
    huge = 2**70
    client = api(key_for(acme))
    assert client.get(f"/api/v1/domains/{huge}/self-test/1").status_code == 404
    assert client.get(f"/api/v1/domains/{domain.pk}/self-test/{huge}").status_code == 404
    assert owner.get(f"/t/acme/domains/{huge}/self-test/1/").status_code == 404
