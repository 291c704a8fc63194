"""The operators' metrics (``/metrics``): off without METRICS_TOKEN, only to its bearer, and
whole under several web and worker processes (read from the database and Redis)."""

import http.client
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from domains.models import CheckKind, CheckStatus, DnsCheck
from reports.inbound.store import inbound_store
from reports.ingest.wake import ingest_wake
from reports.metrics.drains import SECONDS_KEY, SIZE_KEY, drain_batch_record
from reports.models import Channel, InboundMessage, Status, WebhookDelivery, WebhookEndpoint
from tests.conftest import database_url, wait_until
from tests.factories import make_domain, make_tenant
from tests.metrics.scrape import Samples, by_label, parse, value
from tests.reports.helpers import ingest
from tests.reports.mail import report_json
from tests.servers_web import Listener, gunicorn

TOKEN = "operator-secret-token"


@pytest.fixture
def token(settings) -> str:
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


@pytest.fixture(autouse=True)
def _no_drains_counted(broker_url: str) -> None:
    redis.Redis.from_url(broker_url).delete(SIZE_KEY, SECONDS_KEY)


def scrape(client: Client) -> Samples:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse(response.content.decode())


@pytest.mark.django_db
def test_off_without_a_token(settings, client: Client) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization", ["", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"]
)
def test_only_the_bearer_of_the_token_scrapes(token: str, client: Client, authorization: str):
    response = client.get("/metrics", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"tlsrpt_" not in response.content


@pytest.mark.django_db
def test_doors_lag_queues_and_dns_checks_across_tenants(token: str, client: Client) -> None:
    acme, other = make_tenant("acme"), make_tenant("other")
    domain = make_domain(acme, "example.org")
    make_domain(other, "example.net")
    ingest(acme, json.dumps(report_json(domain="example.org")).encode())
    ingest(other, json.dumps(report_json(domain="example.net")).encode())
    ingest(other, b"not a report")
    inbound_store(tenant=other, channel=Channel.SMTP, raw=b"x", queue=False)
    old = inbound_store(tenant=acme, channel=Channel.HTTPS, raw=b"y", queue=False)
    with scopes_disabled():
        InboundMessage.objects.filter(pk=old.pk).update(
            received_at=timezone.now() - timedelta(minutes=5)
        )
    now = timezone.now()
    with scope(tenant=acme):
        for status, age in [(CheckStatus.OK, 1), (CheckStatus.ERROR, 2), (CheckStatus.OK, 30)]:
            at = now - timedelta(hours=age)
            DnsCheck.objects.create(
                tenant=acme, domain=domain, kind=CheckKind.MX, status=status, checked_at=at
            )
        endpoint = WebhookEndpoint.objects.create(
            tenant=acme, url="https://hooks.example/x", kind="slack", secret_encrypted="-"
        )
        for outcome, age in [("succeeded", 1), ("succeeded", 2), ("pending", 1), ("failed", 3),
                             ("pending", 30), ("succeeded", 30)]:  # fmt: skip
            WebhookDelivery.objects.create(
                tenant=acme, endpoint=endpoint, event_type="report.received", message_id="m",
                payload={}, status=outcome, created_at=now - timedelta(hours=age),
            )  # fmt: skip
    ingest_wake()  # one drain queued on the ingest queue (no worker runs here)

    samples = scrape(client)

    assert by_label(samples, "tlsrpt_inbound_messages_24h", "outcome", door="upload") == {
        "processed": 2, "failed": 1,
    }  # fmt: skip
    assert value(samples, "tlsrpt_inbound_messages_24h", door="smtp", outcome="received") == 1
    assert value(samples, "tlsrpt_ingest_waiting_messages") == 2
    assert 300 <= value(samples, "tlsrpt_ingest_lag_seconds") < 400
    assert by_label(samples, "tlsrpt_dns_checks_24h", "status", kind="mx") == {
        "ok": 1, "error": 1,
    }  # fmt: skip
    assert by_label(samples, "tlsrpt_webhook_deliveries_24h", "outcome", kind="slack") == {
        "succeeded": 2, "pending": 1, "failed": 1,
    }  # fmt: skip
    assert value(samples, "tlsrpt_webhook_deliveries_pending") == 2
    queues = by_label(samples, "tlsrpt_celery_queue_length", "queue")
    assert queues["ingest"] == 1
    assert {"dns", "mail", "webhooks", "default"} <= set(queues)


@pytest.mark.django_db
def test_drain_batches_are_histograms_counted_in_redis(token: str, client: Client) -> None:
    drain_batch_record(size=3, seconds=0.2)
    drain_batch_record(size=100, seconds=7)
    samples = scrape(client)
    assert value(samples, "tlsrpt_drain_batch_size_count") == 2
    assert value(samples, "tlsrpt_drain_batch_size_sum") == 103
    assert value(samples, "tlsrpt_drain_batch_size_bucket", le="5.0") == 1
    assert value(samples, "tlsrpt_drain_batch_size_bucket", le="100.0") == 2
    assert value(samples, "tlsrpt_drain_batch_duration_seconds_bucket", le="0.25") == 1
    assert value(samples, "tlsrpt_drain_batch_duration_seconds_bucket", le="5.0") == 1
    assert value(samples, "tlsrpt_drain_batch_duration_seconds_bucket", le="+Inf") == 2


@pytest.fixture
def web(transactional_db: None, broker_url: str) -> Iterator[Listener]:
    """gunicorn with 2 sync workers on the test database and Redis, metrics on."""
    env = {"DATABASE_URL": database_url(), "CELERY_BROKER_URL": broker_url,
           "CONN_MAX_AGE": "0", "METRICS_TOKEN": TOKEN}  # fmt: skip
    with gunicorn(env, workers=2) as server:
        yield server


def _fetch(base: Listener) -> str:
    """One scrape on a connection of its own (gunicorn's sync workers close each one)."""
    connection = http.client.HTTPConnection(base.host, base.port, timeout=30)
    try:
        connection.request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        assert response.status == 200
        return response.read().decode()
    finally:
        connection.close()


MESSAGES = 6


def test_whole_figures_from_every_web_process_after_a_worker_drained(
    web: Listener, worker_processes
) -> None:
    """Messages drained by a worker process of its own, scraped on new connections from a
    gunicorn of 2 workers: every scrape shows all of them, processed and in the drains."""
    acme = make_tenant("acme")
    make_domain(acme, "example.org")
    worker_processes("metrics", INGEST_BATCH_SIZE="4")
    for n in range(MESSAGES):
        raw = json.dumps(report_json(domain="example.org", report_id=f"r{n}")).encode()
        inbound_store(tenant=acme, channel=Channel.HTTPS, raw=raw)

    def drained() -> bool:
        with scope(tenant=acme):
            done = InboundMessage.objects.filter(status=Status.PROCESSED).count()
        return done == MESSAGES

    wait_until(drained, timeout=120)
    wait_until(lambda: value(parse(_fetch(web)), "tlsrpt_drain_batch_size_sum") == MESSAGES)

    scrapes = [parse(_fetch(web)) for _ in range(8)]
    for samples in scrapes:
        assert value(samples, "tlsrpt_inbound_messages_24h", door="https", outcome="processed") == (
            MESSAGES
        )
        assert value(samples, "tlsrpt_drain_batch_size_sum") == MESSAGES
        assert value(samples, "tlsrpt_drain_batch_size_count") >= 2  # batches of at most 4
        assert value(samples, "tlsrpt_ingest_waiting_messages") == 0
    assert all(s == scrapes[0] for s in scrapes)
