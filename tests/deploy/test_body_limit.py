"""The body size cap in docker/Caddyfile: TLSRPT_MAX_MESSAGE_BYTES, as the app's own.

Caddy reads a body whole before gunicorn sees it, so it must refuse one past the limit
itself, and never hand on a body it cut short as if it were complete.
"""

import json
import socket
from contextlib import suppress

import pytest
from django_scopes import scope

from accounts.models import Tenant
from reports.models import InboundMessage
from tests.deploy.conftest import MAX_BYTES
from tests.factories import make_tenant
from tests.servers_web import Listener

pytestmark = pytest.mark.django_db(transaction=True)


def post(server: Listener, tenant: Tenant, body: bytes, *, chunked: bool) -> tuple[int, bytes]:
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    head = (
        f"POST /tlsrpt/{tenant.inbound_token} HTTP/1.1\r\nHost: {server.host}\r\n"
        f"Content-Type: application/tlsrpt+json\r\n{framing}\r\nConnection: close\r\n\r\n"
    ).encode()
    payload = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if chunked else body
    with socket.create_connection((server.host, server.port), timeout=30) as client:
        # Refused while sending: the answer is already on its way.
        with suppress(BrokenPipeError, ConnectionResetError):
            client.sendall(head + payload)
        answer = b""
        with suppress(ConnectionResetError):
            while data := client.recv(65536):
                answer += data
    head_text, _, content = answer.partition(b"\r\n\r\n")
    return int(head_text.split(b" ", 2)[1]), content


def stored(tenant: Tenant) -> list[int]:
    with scope(tenant=tenant):
        return [message.size for message in InboundMessage.objects.all()]


def test_a_body_declared_past_the_limit_is_413_from_caddy(caddy_in_front: Listener) -> None:
    tenant = make_tenant("acme")

    status, content = post(caddy_in_front, tenant, b"x" * (MAX_BYTES + 1), chunked=False)

    assert (status, json.loads(content)["error"]["code"]) == (413, "too_large")
    assert stored(tenant) == []


def test_a_chunked_body_past_the_limit_is_refused_not_stored_cut_short(
    caddy_in_front: Listener,
) -> None:
    tenant = make_tenant("acme")

    status, _ = post(caddy_in_front, tenant, b"x" * (MAX_BYTES + 1000), chunked=True)

    assert status == 413
    assert stored(tenant) == []


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_at_the_limit_is_stored_whole(caddy_in_front: Listener, chunked: bool) -> None:
    tenant = make_tenant("acme")

    status, _ = post(caddy_in_front, tenant, b"x" * MAX_BYTES, chunked=chunked)

    assert status == 201
    assert stored(tenant) == [MAX_BYTES]
