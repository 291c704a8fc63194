"""Events reach webhooks from where they really happen: a report stored by the ingest, an
alert opened or resolved by the evaluation, a domain verified by its DNS record, a DNS
check changing. Each payload matches the documented JSON Schema."""

import json
from datetime import date, timedelta

import jsonschema  # type: ignore[import-untyped]  # from check-jsonschema (dev)
import pytest
from django.conf import settings
from django.utils import timezone
from django_scopes import scope
from standardwebhooks.webhooks import Webhook

from accounts.models import Tenant
from domains.checks import domain_health_check
from domains.hosting.models import ChangeSource
from domains.hosting.services import PolicySettings, hosted_policy_update
from domains.verification import domain_check
from reports.alerts.rules import alerts_evaluate
from reports.digests.weekly import digest_send
from reports.models import Report, SelfTest
from reports.selftest.build import ORGANIZATION, REPORT_ID_PREFIX
from reports.webhooks.events import ReportFacts, ping_payload
from reports.webhooks.hooks import reports_received
from reports.webhooks.models import WebhookDelivery
from reports.webhooks.sending import deliveries_send
from tests.dnsserver import ZoneResolver
from tests.domains.zones import break_sts, publish_good
from tests.factories import make_domain, make_tenant
from tests.httpsserver import StsServer
from tests.reports.helpers import ingest
from tests.reports.mail import report_json
from tests.webhooks.helpers import make_endpoint
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.django_db

SCHEMA = json.loads((settings.BASE_DIR / "reports" / "webhooks" / "schema.json").read_text())
TODAY = date(2026, 11, 20)


def deliveries(tenant: Tenant, event_type: str | None = None) -> list[WebhookDelivery]:
    with scope(tenant=tenant):
        rows = WebhookDelivery.objects.order_by("pk")
        return list(rows.filter(event_type=event_type) if event_type else rows)


def assert_documented(payload: dict) -> None:
    jsonschema.validate(payload, SCHEMA, format_checker=jsonschema.FormatChecker())


def test_each_stored_report_is_a_report_received_with_its_numbers(receiver: Receiver) -> None:
    acme = make_tenant("acme")
    make_domain(acme, "acme.test")
    _, secret = make_endpoint(acme, receiver.url(), ["report.received"])
    document = report_json(domain="acme.test", successful=90, failed=7, organization="Google")
    document["policies"].append(report_json(domain="mx.acme.test", policy_type="tlsa",
                                            successful=5, failed=1)["policies"][0])  # fmt: skip

    ingest(acme, json.dumps(document).encode(), "report.json")

    (delivery,) = deliveries(acme)
    with scope(tenant=acme):
        stored = Report.objects.get()
        deliveries_send(ids=[delivery.pk])
    (request,) = receiver.received
    payload = Webhook(secret).verify(request.body, request.headers)
    assert_documented(payload)
    report = payload["data"]["report"]
    assert report["id"] == stored.pk and report["report_id"] == stored.report_id
    assert (report["successful"], report["failed"]) == (stored.successful, stored.failed)
    assert (report["successful"], report["failed"], report["test"]) == (95, 8, False)
    policies = [(p["policy_type"], p["successful"], p["failed"], p["domain"]) for p in
                report["policies"]]  # fmt: skip
    assert policies == [("sts", 90, 7, "acme.test"), ("tlsa", 5, 1, "acme.test")]
    assert payload["data"]["links"]["report"].endswith(f"/t/acme/reports/{stored.pk}/")


def test_a_tenant_without_endpoints_gets_no_delivery_and_others_none_of_its(
    receiver: Receiver,
) -> None:
    acme, other = make_tenant("acme"), make_tenant("other")
    make_domain(acme, "acme.test")
    make_endpoint(other, receiver.url(), ["report.received"])
    make_endpoint(acme, receiver.url(), ["alert.opened"])  # not this event

    ingest(acme, json.dumps(report_json(domain="acme.test")).encode(), "report.json")

    assert deliveries(acme) == [] and deliveries(other) == []


def test_an_alert_opening_and_resolving_reach_the_webhook(receiver: Receiver) -> None:
    acme = make_tenant("acme")
    domain = make_domain(acme, "acme.test")
    _, secret = make_endpoint(acme, receiver.url(), ["alert.opened", "alert.resolved"])
    day = (TODAY - timedelta(days=1)).isoformat()
    document = report_json(domain="acme.test", day=day, successful=90, failed=10)
    ingest(acme, json.dumps(document).encode(), "report.json")

    with scope(tenant=acme):
        (alert,) = alerts_evaluate(tenant=acme, today=TODAY).opened
        alerts_evaluate(tenant=acme, today=TODAY + timedelta(days=10))  # cleared by then
        deliveries_send(ids=[d.pk for d in deliveries(acme)])

    opened, resolved = (Webhook(secret).verify(r.body, r.headers) for r in receiver.received)
    assert_documented(opened)
    assert_documented(resolved)
    assert opened["type"] == "alert.opened" and resolved["type"] == "alert.resolved"
    data = opened["data"]
    assert data["domain"] == {"id": domain.pk, "name": "acme.test"}
    assert data["alert"]["title"] == alert.title and data["alert"]["fix"] == alert.fix
    assert data["alert"]["resolved_at"] is None and resolved["data"]["alert"]["resolved_at"]
    assert data["links"]["dashboard"].endswith(f"/t/acme/domains/{domain.pk}/dashboard/")


def test_a_domain_verified_by_its_record_reaches_the_webhook(
    receiver: Receiver, dns: ZoneResolver
) -> None:
    acme = make_tenant("acme")
    domain = make_domain(acme, "acme.test", verified=False)
    make_endpoint(acme, receiver.url(), ["domain.verified"])
    dns.add_txt(domain.verification_name, domain.verification_token)

    with scope(tenant=acme):
        assert domain_check(domain=domain, tlsrpt=False).ok

    (delivery,) = deliveries(acme)
    assert_documented(delivery.payload)
    assert delivery.payload["type"] == "domain.verified"
    assert delivery.payload["data"]["domain"]["name"] == "acme.test"
    assert delivery.payload["data"]["domain"]["verified_at"]


def test_a_dns_check_changing_status_reaches_the_webhook(
    receiver: Receiver, dns: ZoneResolver, sts: StsServer
) -> None:
    acme = make_tenant("acme")
    domain = make_domain(acme, "acme.test")
    make_endpoint(acme, receiver.url(), ["dns_check.changed"])
    publish_good(dns, sts, acme, "acme.test")
    with scope(tenant=acme):
        domain_health_check(domain=domain)
        assert deliveries(acme) == []  # a first check changes nothing
        break_sts(sts, "acme.test")
        domain_health_check(domain=domain)

    (delivery,) = deliveries(acme)
    assert_documented(delivery.payload)
    check = delivery.payload["data"]["check"]
    assert check["kind"] == "mta_sts" and check["previous_status"] == "ok"
    assert check["status"] != "ok" and check["findings"]


def test_the_test_event_is_documented(receiver: Receiver) -> None:
    assert_documented(ping_payload("acme", 1))


def test_a_sent_weekly_digest_is_a_digest_ready_once(receiver: Receiver, mailoutbox) -> None:
    acme = make_tenant("acme")
    make_domain(acme, "acme.test")
    make_endpoint(acme, receiver.url(), ["digest.ready"])
    ingest(acme, json.dumps(report_json(domain="acme.test", day="2026-11-10")).encode(), "r.json")

    with scope(tenant=acme):
        assert digest_send(tenant=acme, week_start=date(2026, 11, 9)) == 1
        assert digest_send(tenant=acme, week_start=date(2026, 11, 9)) == 0  # already sent

    (delivery,) = deliveries(acme)
    assert_documented(delivery.payload)
    data = delivery.payload["data"]
    assert data["week"] == {"start": "2026-11-09", "end": "2026-11-15"}
    assert data["domains"][0]["name"] == "acme.test" and data["domains"][0]["sessions"] == 12


def test_a_hosted_mta_sts_change_reaches_the_webhook(receiver: Receiver) -> None:
    acme = make_tenant("acme")
    domain = make_domain(acme, "acme.test", mx_hosts=["mx.acme.test"])
    make_endpoint(acme, receiver.url(), ["mta_sts.changed"])
    wanted = PolicySettings(enabled=True, mode="testing", mx=["mx.acme.test"], max_age=86400)

    with scope(tenant=acme):
        hosted_policy_update(domain=domain, wanted=wanted, actor=None, source=ChangeSource.API)

    (delivery,) = deliveries(acme)
    assert_documented(delivery.payload)
    data = delivery.payload["data"]
    assert data["domain"]["name"] == "acme.test" and "testing" in data["summary"]
    assert data["links"]["mta_sts"].endswith(f"/t/acme/domains/{domain.pk}/mta-sts")


def test_a_self_test_report_is_marked_as_a_test(receiver: Receiver) -> None:
    acme = make_tenant("acme")
    domain = make_domain(acme, "acme.test")
    make_endpoint(acme, receiver.url(), ["report.received"])
    report_id = f"{REPORT_ID_PREFIX}{acme.pk}-1"
    with scope(tenant=acme):
        SelfTest.objects.create(tenant=acme, domain=domain, report_id=report_id)
    document = report_json(domain="acme.test", organization=ORGANIZATION, report_id=report_id)

    ingest(acme, json.dumps(document).encode(), "report.json")

    (delivery,) = deliveries(acme)
    assert_documented(delivery.payload)
    report = delivery.payload["data"]["report"]
    assert report["test"] is True and (report["successful"], report["failed"]) == (0, 0)


def test_a_batch_costs_one_query_when_no_endpoint_takes_its_reports(
    django_assert_num_queries,
) -> None:
    acme = make_tenant("acme")
    make_endpoint(acme, "https://hooks.example/in", ["alert.opened"])  # another event
    now = timezone.now()
    facts = [ReportFacts(acme.pk, n, "Google", f"r{n}", now, now, 1, 0, []) for n in range(50)]

    with scope(tenant=acme):
        with django_assert_num_queries(1):
            assert reports_received(facts) == 0
        with django_assert_num_queries(0):
            assert reports_received([]) == 0
