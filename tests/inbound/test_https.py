"""The HTTPS door of RFC 8460 section 5.4."""

import gzip
import json

import pytest
from django.test import Client
from django_scopes import scope

from accounts.models import Tenant
from reports.ingest.messages import message_run
from reports.models import InboundMessage, Report, Status
from tests.factories import make_domain, make_tenant
from tests.reports.mail import report_json

pytestmark = pytest.mark.django_db


def url(tenant: Tenant) -> str:
    return f"/tlsrpt/{tenant.inbound_token}"


def stored(tenant: Tenant) -> list[InboundMessage]:
    with scope(tenant=tenant):
        return list(InboundMessage.objects.order_by("pk"))


@pytest.mark.parametrize(
    ("content_type", "encode"),
    [
        ("application/tlsrpt+gzip", gzip.compress),
        ("application/tlsrpt+json", lambda b: b),
        ("application/json", lambda b: b),
        ("application/gzip", gzip.compress),
    ],
)
def test_a_posted_report_is_stored_then_processed_for_that_tenant_only(
    content_type: str, encode
) -> None:
    acme, other = make_tenant("acme"), make_tenant("other")
    make_domain(acme, "example.org")
    make_domain(other, "example.org")
    body = encode(json.dumps(report_json(domain="example.org")).encode())

    response = Client().post(url(acme), body, content_type=content_type)

    assert response.status_code == 201
    (message,) = stored(acme)
    assert response.json() == {"id": message.pk, "status": "received"}
    assert (message.channel, bytes(message.raw)) == ("https", body)
    assert message_run(message_id=message.pk).status == Status.PROCESSED
    with scope(tenant=acme):
        assert Report.objects.count() == 1
    assert stored(other) == []


def test_unknown_token_is_404() -> None:
    response = Client().post("/tlsrpt/nosuchtoken", b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_token"


def test_other_types_are_415_and_other_methods_405() -> None:
    acme = make_tenant("acme")
    assert Client().post(url(acme), b"x", content_type="text/plain").status_code == 415
    response = Client().get(url(acme))
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert stored(acme) == []


def test_too_large_is_413_without_storing(settings) -> None:
    settings.TLSRPT_MAX_MESSAGE_BYTES = 1000
    acme = make_tenant("acme")
    response = Client().post(url(acme), b"{" + b" " * 2000 + b"}", content_type="application/json")
    assert response.status_code == 413
    assert stored(acme) == []


def test_no_csrf_token_or_session_is_needed() -> None:
    acme = make_tenant("acme")
    client = Client(enforce_csrf_checks=True)
    assert client.post(url(acme), b"{}", content_type="application/json").status_code == 201


def test_posts_are_rate_limited_per_token(settings) -> None:
    settings.TLSRPT_HTTPS_RATE_PER_MINUTE = 3
    acme, other = make_tenant("acme"), make_tenant("other")
    statuses = [
        Client().post(url(acme), b"{}", content_type="application/json").status_code
        for _ in range(4)
    ]
    assert statuses[:3] == [201, 201, 201] and statuses[3] == 429
    assert Client().post(url(other), b"{}", content_type="application/json").status_code == 201
