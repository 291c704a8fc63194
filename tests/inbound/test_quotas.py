"""Each tenant's daily quota of messages and bytes from strangers, on the HTTPS door and
shared with the SMTP door; what the tenant sees when a limit refused mail."""

import re
import smtplib
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from accounts.models import Tenant
from reports.inbound.models import Channel, InboundRefusal, Limit
from reports.inbound.quotas import client_key
from reports.inbound.refusals import refusal_record
from reports.models import InboundMessage
from tests.factories import make_tenant, owner_of
from tests.web import fresh_client, login


def post(tenant: Tenant, body: bytes):
    return Client().post(f"/tlsrpt/{tenant.inbound_token}", body, content_type="application/json")


def stored(tenant: Tenant) -> list[bytes]:
    with scope(tenant=tenant):
        return [bytes(m.raw) for m in InboundMessage.objects.order_by("pk")]


def body(n: int, size: int = 0) -> bytes:
    return b'{"n": %d, "pad": "%s"}' % (n, b"x" * size)


def refusals_shown(tenant: Tenant, page: str) -> dict[tuple[str, str], int]:
    """(door, limit): count, as the tenant's owner sees them on ``page``."""
    client = fresh_client()
    login(client, owner_of(tenant))
    html = client.get(reverse(page, args=[tenant.slug])).content.decode()
    found = re.findall(r'data-channel="(\w+)" data-limit="(\w+)" data-count="(\d+)"', html)
    return {(door, limit): int(count) for door, limit, count in found}


@pytest.mark.django_db
def test_past_the_daily_message_quota_a_post_is_429_until_midnight_utc(settings) -> None:
    settings.INBOUND_TENANT_DAILY_MESSAGES = 2
    acme, other = make_tenant("acme"), make_tenant("other")

    statuses = [post(acme, body(n)).status_code for n in range(2)]
    refused = post(acme, body(2))

    assert statuses == [201, 201]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"
    to_midnight = 86400 - int(time.time()) % 86400
    assert abs(int(refused["Retry-After"]) - to_midnight) <= 2
    assert stored(acme) == [body(0), body(1)]
    assert post(other, body(0)).status_code == 201


@pytest.mark.django_db
def test_past_the_daily_bytes_a_post_is_429_and_a_smaller_one_still_fits(settings) -> None:
    settings.INBOUND_TENANT_DAILY_BYTES = 1000
    acme = make_tenant("acme")

    statuses = [post(acme, body(n, 400)).status_code for n in range(3)]
    smaller = post(acme, body(3, 100))

    assert statuses == [201, 201, 429] and smaller.status_code == 201
    assert stored(acme) == [body(0, 400), body(1, 400), body(3, 100)]


@pytest.mark.django_db(transaction=True)
def test_the_quota_is_shared_by_the_smtp_and_https_doors(
    smtp_server: tuple[str, int], settings
) -> None:
    settings.INBOUND_TENANT_DAILY_MESSAGES = 2
    acme = make_tenant("acme")
    rcpt = f"{acme.inbound_token}@reports.localhost"

    assert post(acme, body(0)).status_code == 201
    with smtplib.SMTP(*smtp_server) as smtp:
        assert smtp.sendmail("a@sender.example", [rcpt], b"Subject: r\r\n\r\nx\r\n") == {}
        smtp.mail("a@sender.example")
        assert smtp.rcpt(rcpt)[0] == 452
    assert post(acme, body(1)).status_code == 429

    assert len(stored(acme)) == 2
    assert refusals_shown(acme, "inbound_log") == {
        ("smtp", "daily_messages"): 1,
        ("https", "daily_messages"): 1,
    }


@pytest.mark.django_db
def test_uploads_are_not_counted_against_the_strangers_quota(settings) -> None:
    settings.INBOUND_TENANT_DAILY_MESSAGES = 1
    acme = make_tenant("acme")
    assert post(acme, body(0)).status_code == 201
    client = fresh_client()
    login(client, owner_of(acme))

    files = [SimpleUploadedFile(f"{n}.json", body(n)) for n in (1, 2)]
    response = client.post(reverse("upload", args=["acme"]), {"files": files})

    assert response.status_code == 302
    assert stored(acme) == [body(0), body(1), body(2)]
    assert post(acme, body(3)).status_code == 429


@pytest.mark.django_db
def test_refusals_show_on_the_tenants_ingest_log_and_overview_only(settings) -> None:
    settings.TLSRPT_HTTPS_RATE_PER_MINUTE = 1
    acme, other = make_tenant("acme"), make_tenant("other")
    assert [post(acme, body(n)).status_code for n in range(4)] == [201, 429, 429, 429]
    assert post(other, body(0)).status_code == 201

    for page in ("inbound_log", "tenant_home"):
        assert refusals_shown(acme, page) == {("https", "https_rate"): 3}
        assert refusals_shown(other, page) == {}
    with scope(tenant=acme):
        (row,) = InboundRefusal.objects.all()  # one row however many refusals
    assert (row.count, row.last_sender) == (3, "127.0.0.1")


@pytest.mark.django_db
def test_the_overview_warns_of_the_last_seven_days_only() -> None:
    acme = make_tenant("acme")
    refusal_record(tenant_id=acme.pk, channel=Channel.SMTP, limit=Limit.DAILY_BYTES, size=5)
    with scope(tenant=acme):
        InboundRefusal.objects.update(day=timezone.now().date() - timedelta(days=7))
    assert refusals_shown(acme, "tenant_home") == {}

    refusal_record(tenant_id=acme.pk, channel=Channel.SMTP, limit=Limit.DAILY_BYTES, size=5)
    assert refusals_shown(acme, "tenant_home") == {("smtp", "daily_bytes"): 1}


def test_an_ipv6_client_counts_by_its_64_and_an_ipv4_one_by_its_address() -> None:
    same = {client_key("2001:db8:1:2::a"), client_key("2001:db8:1:2:ffff::1")}
    assert same == {"2001:db8:1:2::/64"}
    assert client_key("2001:db8:1:3::a") != client_key("2001:db8:1:2::a")
    assert client_key("192.0.2.1") != client_key("192.0.2.2")
