"""Slack and Teams endpoints get readable messages: Block Kit and an Adaptive Card, valid
against schemas written from the vendors' documentation (tests/data/schemas); an alert
brings its domain, what happened, the fix and a link."""

import json
from datetime import date, timedelta
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # from check-jsonschema (dev)
import pytest
from django.conf import settings
from django_scopes import scope

from reports.alerts.rules import alerts_evaluate
from reports.webhooks.formats import body_for
from reports.webhooks.models import WebhookDelivery
from reports.webhooks.sending import deliveries_send
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import ingest
from tests.reports.mail import report_json
from tests.webhooks.helpers import make_endpoint
from tests.webhooks.receiver import Receiver

SCHEMAS = settings.BASE_DIR / "tests" / "data" / "schemas"
SLACK = json.loads((SCHEMAS / "slack_block_kit_message.json").read_text())
TEAMS = json.loads((SCHEMAS / "teams_adaptive_card_message.json").read_text())
EVENTS = json.loads((settings.BASE_DIR / "reports" / "webhooks" / "schema.json").read_text())
LINK = "https://tlsrpt.example/t/acme/domains/1/dashboard/"
DOMAIN = {"id": 1, "name": "acme.test", "verified_at": "2026-11-01T00:00:00+00:00"}
ALERT: dict[str, Any] = {
    "id": 7, "kind": "failure_rate", "key": "",
    "title": "acme.test: 10.0 % of TLS sessions failed",
    "message": "10 of 100 sessions to acme.test failed.",
    "fix": "Renew the certificate of mx.acme.test.",
    "opened_at": "2026-11-19T10:00:00+00:00", "resolved_at": None,
}  # fmt: skip
CHECK = {
    "kind": "mta_sts", "status": "error", "previous_status": "ok",
    "checked_at": "2026-11-19T10:00:00+00:00", "findings": [],
}  # fmt: skip
DATA: dict[str, dict[str, Any]] = {
    "alert.opened": {"tenant": "acme", "domain": {"id": 1, "name": "acme.test"}, "alert": ALERT,
                     "links": {"dashboard": LINK, "domain": LINK}},
    "alert.resolved": {"tenant": "acme", "domain": {"id": 1, "name": "acme.test"},
                       "alert": {**ALERT, "resolved_at": "2026-11-20T10:00:00+00:00"},
                       "links": {"dashboard": LINK, "domain": LINK}},
    "report.received": {"tenant": "acme", "links": {"report": LINK}, "report": {
        "id": 3, "organization": "<https://evil.example|Google>", "report_id": "r1",
        "start": "2026-11-19T00:00:00+00:00", "end": "2026-11-19T23:59:59+00:00",
        "successful": 90, "failed": 10, "test": False, "policies": []}},
    "domain.verified": {"tenant": "acme", "domain": DOMAIN, "links": {"domain": LINK}},
    "domain.unverified": {"tenant": "acme", "domain": DOMAIN, "links": {"domain": LINK}},
    "dns_check.changed": {"tenant": "acme", "domain": DOMAIN, "check": CHECK,
                          "links": {"domain": LINK}},
    "mta_sts.changed": {"tenant": "acme", "domain": DOMAIN, "summary": "mode testing → enforce",
                        "links": {"domain": LINK, "mta_sts": LINK}},
    "digest.ready": {"tenant": "acme", "week": {"start": "2026-11-09", "end": "2026-11-15"},
                     "domains": [], "links": {"overview": LINK}},
    "webhook.test": {"tenant": "acme", "message": "A test event.", "links": {"webhook": LINK}},
}  # fmt: skip


def payload(event_type: str) -> dict:
    found = {"type": event_type, "timestamp": "2026-11-20T10:00:00+00:00", "data": DATA[event_type]}
    jsonschema.validate(found, EVENTS)  # the samples are real events
    return found


@pytest.mark.parametrize("event_type", sorted(DATA))
def test_every_event_is_a_valid_slack_message(event_type: str) -> None:
    message = json.loads(body_for("slack", payload(event_type)))
    jsonschema.validate(message, SLACK, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("event_type", sorted(DATA))
def test_every_event_is_a_valid_teams_card(event_type: str) -> None:
    message = json.loads(body_for("teams", payload(event_type)))
    jsonschema.validate(message, TEAMS, format_checker=jsonschema.FormatChecker())


def test_a_slack_alert_has_the_domain_what_happened_the_fix_and_a_link() -> None:
    message = json.loads(body_for("slack", payload("alert.opened")))
    shown = json.dumps(message["blocks"])
    assert "acme.test" in shown and ALERT["message"] in shown and ALERT["fix"] in shown
    assert message["blocks"][-1]["elements"][0]["url"] == LINK
    assert ALERT["title"] in message["text"]


def test_a_teams_alert_has_the_domain_what_happened_the_fix_and_a_link() -> None:
    card = json.loads(body_for("teams", payload("alert.opened")))["attachments"][0]["content"]
    shown = json.dumps(card["body"])
    assert "acme.test" in shown and ALERT["message"] in shown and ALERT["fix"] in shown
    assert card["actions"][0]["url"] == LINK


def test_a_reporters_name_cannot_make_a_slack_link() -> None:
    message = json.loads(body_for("slack", payload("report.received")))
    assert "<https://evil" not in json.dumps(message)
    assert "&lt;https://evil.example|Google&gt;" in message["blocks"][1]["text"]["text"]


@pytest.mark.django_db
def test_a_real_alert_reaches_a_slack_endpoint_as_block_kit(receiver: Receiver) -> None:
    acme = make_tenant("acme")
    make_domain(acme, "acme.test")
    make_endpoint(acme, receiver.url(), ["alert.opened"], kind="slack")
    today = date(2026, 11, 20)
    day = (today - timedelta(days=1)).isoformat()
    document = report_json(domain="acme.test", day=day, successful=90, failed=10)
    ingest(acme, json.dumps(document).encode(), "report.json")

    with scope(tenant=acme):
        (alert,) = alerts_evaluate(tenant=acme, today=today).opened
        deliveries_send(ids=list(WebhookDelivery.objects.values_list("pk", flat=True)))

    message = json.loads(receiver.received[0].body)
    jsonschema.validate(message, SLACK, format_checker=jsonschema.FormatChecker())
    assert alert.title in message["blocks"][0]["text"]["text"]
    assert alert.fix and alert.fix.split()[0] in json.dumps(message)
