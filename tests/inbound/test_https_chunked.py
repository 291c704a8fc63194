"""Chunked posts to the HTTPS door (``Transfer-Encoding: chunked``, no Content-Length),
under a real gunicorn on loopback: stored, or refused with 413 past the size limit."""

import gzip
import json
import socket

import pytest
from django_scopes import scope

from reports.ingest.messages import message_run
from reports.models import InboundMessage, Status
from tests.factories import make_domain, make_tenant
from tests.inbound.conftest import Gunicorn
from tests.tlsrpt.postfix import postfix_json

pytestmark = pytest.mark.django_db(transaction=True)


def post_chunked(server: Gunicorn, path: str, body: bytes, chunk: int = 1000) -> tuple[int, dict]:
    """POST ``body`` in chunks of ``chunk`` bytes, as a streaming HTTP client sends it."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {server.host}\r\n"
        "Content-Type: application/tlsrpt+gzip\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    pieces = [head]
    for start in range(0, len(body), chunk):
        part = body[start : start + chunk]
        pieces.append(b"%x\r\n%s\r\n" % (len(part), part))
    pieces.append(b"0\r\n\r\n")
    with socket.create_connection((server.host, server.port), timeout=30) as client:
        try:
            for piece in pieces:
                client.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while reading: the answer is already on its way
        answer = b""
        while data := client.recv(65536):
            answer += data
    head_text, _, payload = answer.partition(b"\r\n\r\n")
    status = int(head_text.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head_text.lower():
        payload = _dechunk(payload)
    return status, json.loads(payload)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def test_a_chunked_post_is_stored_and_processed(gunicorn_server: Gunicorn) -> None:
    tenant = make_tenant("acme")
    make_domain(tenant, "example.com")
    body = gzip.compress(postfix_json("example.com"))

    status, answer = post_chunked(gunicorn_server, f"/tlsrpt/{tenant.inbound_token}", body, 97)

    assert (status, answer["status"]) == (201, Status.RECEIVED)
    with scope(tenant=tenant):
        message = InboundMessage.objects.get(pk=answer["id"])
    assert bytes(message.raw) == body
    assert message_run(message_id=message.pk).status == Status.PROCESSED


def test_a_chunked_post_past_the_limit_is_413_and_not_stored(gunicorn_server: Gunicorn) -> None:
    tenant = make_tenant("acme")
    body = b"x" * (gunicorn_server.max_bytes + 1)

    status, answer = post_chunked(gunicorn_server, f"/tlsrpt/{tenant.inbound_token}", body, 4096)

    assert (status, answer["error"]["code"]) == (413, "too_large")
    with scope(tenant=tenant):
        assert not InboundMessage.objects.exists()


def test_a_chunked_post_at_the_limit_is_stored(gunicorn_server: Gunicorn) -> None:
    tenant = make_tenant("acme")
    body = b"x" * gunicorn_server.max_bytes

    status, _ = post_chunked(gunicorn_server, f"/tlsrpt/{tenant.inbound_token}", body, 4096)

    assert status == 201
