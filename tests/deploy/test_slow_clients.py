"""Slow clients against the web tier: gunicorn's sync workers, with Caddy in front.

A sync worker serves one connection at a time and reads the request itself, so a client
trickling its headers or body holds a worker for as long as it likes: a few such
clients take the pages, the API and the HTTPS report door down. The baseline below
shows it on gunicorn alone. Caddy (docker/Caddyfile) reads headers and bodies whole
before it asks a worker, so behind it the same clients leave ``/healthz`` and a report
POST answering within a second.
"""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from accounts.models import Tenant
from tests.deploy.conftest import MAX_BYTES, WORKERS
from tests.factories import make_tenant
from tests.servers_web import Listener
from tests.tlsrpt.postfix import postfix_json

pytestmark = pytest.mark.django_db(transaction=True)

SLOW_BODIES = 8
SLOW_HEADERS = 8
TRICKLE_SECONDS = 0.5  # one byte per connection this often
ANSWER_WITHIN = 1.0


@contextmanager
def slow_clients(server: Listener, token: str) -> Iterator[None]:
    """Eight clients trickling a report's body (of an allowed size) and eight trickling
    their headers, one byte at a time, until the block ends."""
    body_head = (
        f"POST /tlsrpt/{token} HTTP/1.1\r\nHost: {server.host}\r\n"
        f"Content-Type: application/tlsrpt+json\r\nContent-Length: {MAX_BYTES}\r\n\r\n{{"
    ).encode()
    header_head = f"GET /healthz HTTP/1.1\r\nHost: {server.host}\r\n".encode()
    sockets = []
    for head in [body_head] * SLOW_BODIES + [header_head] * SLOW_HEADERS:
        client = socket.create_connection((server.host, server.port), timeout=5)
        client.sendall(head)
        sockets.append(client)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(TRICKLE_SECONDS):
            for client in sockets:
                with suppress(OSError):  # cut off by a timeout: that is the proxy's right
                    client.send(b"x")

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        time.sleep(2 * TRICKLE_SECONDS)  # every worker has taken a connection by now
        yield
    finally:
        stop.set()
        thread.join(5)
        for client in sockets:
            client.close()


def ask(server: Listener, request: bytes, within: float) -> int | None:
    """The status of the answer to ``request``, or None when none came ``within`` seconds."""
    try:
        started = time.monotonic()
        with socket.create_connection((server.host, server.port), timeout=within) as c:
            c.sendall(request)
            answer = b""
            while b"\r\n" not in answer:
                c.settimeout(max(0.01, started + within - time.monotonic()))
                data = c.recv(4096)
                if not data:
                    return None
                answer += data
    except TimeoutError:
        return None
    return int(answer.split(b" ", 2)[1])


def healthz(server: Listener, within: float = ANSWER_WITHIN) -> int | None:
    request = f"GET /healthz HTTP/1.1\r\nHost: {server.host}\r\n\r\n".encode()
    return ask(server, request, within)


def post_report(server: Listener, tenant: Tenant, within: float = ANSWER_WITHIN) -> int | None:
    body = postfix_json("example.com")
    head = (
        f"POST /tlsrpt/{tenant.inbound_token} HTTP/1.1\r\nHost: {server.host}\r\n"
        f"Content-Type: application/tlsrpt+json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    return ask(server, head + body, within)


def warm_up(server: Listener, tenant: Tenant) -> None:
    """A first request per worker loads what Django loads lazily: not what is measured."""
    for _ in range(2 * WORKERS):
        assert healthz(server, within=30) == 200
        assert post_report(server, tenant, within=30) == 201


def test_behind_caddy_slow_clients_leave_pages_and_the_report_door_answering(
    caddy_in_front: Listener,
) -> None:
    tenant = make_tenant("acme")
    warm_up(caddy_in_front, tenant)

    with slow_clients(caddy_in_front, tenant.inbound_token):
        for _ in range(3):
            assert healthz(caddy_in_front) == 200
            assert post_report(caddy_in_front, tenant) == 201
            time.sleep(TRICKLE_SECONDS)


def test_without_caddy_the_same_slow_clients_leave_gunicorn_answering_nothing(
    gunicorn_workers: Listener,
) -> None:
    """The baseline: why gunicorn is never exposed directly."""
    tenant = make_tenant("acme")
    warm_up(gunicorn_workers, tenant)

    with slow_clients(gunicorn_workers, tenant.inbound_token):
        assert healthz(gunicorn_workers) is None
        assert post_report(gunicorn_workers, tenant) is None
