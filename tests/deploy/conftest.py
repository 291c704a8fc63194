"""The web tier as deployed: gunicorn's sync workers, with and without Caddy in front."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _end_other_sessions, database_url
from tests.servers_web import CADDY, Listener, caddy, gunicorn

# Small, so that a body past it is cheap to send.
MAX_BYTES = 64 * 1024
# Sync workers, as docker/Dockerfile runs them; few, so that few slow clients fill them.
WORKERS = 2


@pytest.fixture
def gunicorn_workers(transactional_db: None, broker_url: str) -> Iterator[Listener]:
    """gunicorn on loopback against the test database; Caddy (127.0.0.1) is trusted."""
    env = {
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CONN_MAX_AGE": "0",
        "TLSRPT_MAX_MESSAGE_BYTES": str(MAX_BYTES),
        "TRUSTED_PROXIES": "127.0.0.1",
    }
    try:
        with gunicorn(env, workers=WORKERS) as server:
            yield server
    finally:
        _end_other_sessions()


@pytest.fixture
def caddy_in_front(gunicorn_workers: Listener, tmp_path: Path) -> Iterator[Listener]:
    """docker/Caddyfile run by Debian's Caddy, plain HTTP on loopback, before gunicorn."""
    if not os.access(CADDY, os.X_OK):
        pytest.skip(f"Caddy not found at {CADDY}: install Debian's caddy (make test does)")
    with caddy(gunicorn_workers, tmp_path, {"TLSRPT_MAX_MESSAGE_BYTES": str(MAX_BYTES)}) as proxy:
        yield proxy
