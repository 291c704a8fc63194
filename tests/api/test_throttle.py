"""The API's rate limit holds under concurrent clients: one atomic count per request.

Against real gunicorn, sync workers in processes of their own as production runs them,
sharing the real Redis: a count read in one process and written back later lets others
through in between.
"""

import http.client
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from accounts.models import ApiKey, KeyScope
from tests.conftest import _end_other_sessions, database_url
from tests.factories import make_tenant
from tests.servers_web import Listener, gunicorn

CLIENTS = 12
PER_CLIENT = 8
LIMIT = 40
WORKERS = 6


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


@pytest.fixture
def web(transactional_db: None, broker_url: str) -> Iterator[Listener]:
    """gunicorn with the API limited to LIMIT an hour, on the test database and Redis."""
    env = {
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CONN_MAX_AGE": "0",
        "API_RATE_LIMIT": f"{LIMIT}/hour",
    }
    try:
        with gunicorn(env, workers=WORKERS) as server:
            yield server
    finally:
        _end_other_sessions()


def away_from_the_hour_end() -> None:
    """The limit counts per clock hour: start where the burst cannot straddle two."""
    left = 3600 - time.time() % 3600
    if left < 30:
        time.sleep(left + 1)


def test_twelve_concurrent_clients_get_exactly_the_limit(web: Listener, settings) -> None:
    assert "RedisCache" in settings.CACHES["default"]["BACKEND"]  # gunicorn's too: REDIS_URL
    tenant = make_tenant("acme")
    secret = ApiKey.objects.create_key(tenant=tenant, name="k", scope=KeyScope.READ)[1]
    url = f"http://{web.host}:{web.port}/api/v1/tenant"
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
