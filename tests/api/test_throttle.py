"""The API's rate limit holds under concurrent clients: one atomic count per request."""

import http.client
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from accounts.models import ApiKey, KeyScope
from tests.factories import make_tenant

CLIENTS = 12
PER_CLIENT = 5
LIMIT = 20


def get(url: str, secret: str) -> tuple[int, str | None]:
    """Status and Retry-After of one GET, on a connection of its own."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request("GET", parts.path, headers={"Authorization": f"Bearer {secret}"})
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Retry-After")
    finally:
        connection.close()


def away_from_the_hour_end() -> None:
    """The limit counts per clock hour: start where the burst cannot straddle two."""
    left = 3600 - time.time() % 3600
    if left < 30:
        time.sleep(left + 1)


@pytest.mark.django_db(transaction=True)
def test_twelve_concurrent_clients_get_exactly_the_limit(live_server: Any, settings) -> None:
    settings.API_RATE_LIMIT = f"{LIMIT}/hour"
    assert "RedisCache" in settings.CACHES["default"]["BACKEND"]
    tenant = make_tenant("acme")
    secret = ApiKey.objects.create_key(tenant=tenant, name="k", scope=KeyScope.READ)[1]
    url = f"{live_server.url}/api/v1/tenant"
    start = threading.Barrier(CLIENTS)
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def client() -> None:
        start.wait()
        for _ in range(PER_CLIENT):
            answer = get(url, secret)
            with lock:
                results.append(answer)

    away_from_the_hour_end()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * LIMIT + [429] * (CLIENTS * PER_CLIENT - LIMIT)
    waits = [int(wait) for status, wait in results if status == 429 and wait is not None]
    assert len(waits) == CLIENTS * PER_CLIENT - LIMIT
    assert all(0 < wait <= 3600 for wait in waits)
