"""Fixtures of the webhook tests: a real HTTPS receiver on loopback, named hooks.test in
the tests' DNS server, that the outbound policy lets through (loopback, allow-listed)."""

from collections.abc import Iterator

import pytest
from celery.contrib.testing.worker import start_worker

from tests.conftest import _end_other_sessions
from tests.dnsserver import ZoneResolver
from tests.webhooks.receiver import Receiver, start_receiver
from tlsrpt_saas.celery import app as celery_app


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[Receiver]:
    receiver, stop = start_receiver()
    yield receiver
    stop()


@pytest.fixture
def receiver(receiver_server: Receiver, dns: ZoneResolver, settings) -> Receiver:
    receiver_server.reset()
    dns.add_a("hooks.test", "127.0.0.1")
    settings.WEBHOOKS_CA_FILE = receiver_server.ca_file
    settings.OUTBOUND_ALLOWED_ADDRESSES = ["127.0.0.1"]
    settings.SITE_URL = "https://tlsrpt.example"
    return receiver_server


@pytest.fixture
def webhooks_worker(transactional_db: None, broker_url: str) -> Iterator[object]:
    """A real Celery worker in this process, consuming the webhooks queue too."""
    with start_worker(
        celery_app, queues=["ingest", "dns", "mail", "webhooks", "default"], pool="solo",
        perform_ping_check=False, shutdown_timeout=30,
    ) as worker:  # fmt: skip
        yield worker
    _end_other_sessions()
