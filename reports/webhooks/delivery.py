"""One HTTP POST to a webhook endpoint, through the outbound address policy.

The endpoint's URL is a tenant's, so it could point at our own network: the connection
goes through ``tlsrpt_saas.outbound`` (public addresses only, connected to the vetted
address itself, so DNS rebinding cannot swap it), TLS is verified against the URL's host
name (SNI), plain HTTP only when ``WEBHOOKS_ALLOW_HTTP`` is on, redirects are not followed
(a 3xx is a failed attempt), one deadline (``WEBHOOKS_TIMEOUT``, 10 s) covers connecting,
sending and the answer, and at most 64 KB of the answer is read. Every outcome is a ``PostResult``;
network, TLS and HTTP problems never raise.
"""

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from tlsrpt_saas.outbound import OutboundError, connect, remaining, tls_wrap

MAX_ANSWER = 65536
KEPT_ANSWER = 1024
USER_AGENT = "tlsrpt-saas webhooks"


@dataclass(frozen=True)
class PostResult:
    status: int | None  # the HTTP status, None when no answer came
    body: str  # the first KEPT_ANSWER bytes of the answer, as text
    latency_ms: int
    error: str  # why it failed before an answer ("" when one came)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _Failure(Exception):
    pass


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP(S) over a socket already connected to a vetted address: it never dials."""

    def __init__(self, host: str, port: int, sock: socket.socket) -> None:
        super().__init__(host, port)
        self._pinned = sock

    def connect(self) -> None:
        self.sock = self._pinned


def url_problem(url: str) -> str:
    """Why ``url`` cannot be an endpoint ("" when it can): the scheme and the host."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        return "Use an https:// URL."
    if parts.scheme == "http" and not settings.WEBHOOKS_ALLOW_HTTP:
        return "Use an https:// URL: plain HTTP is not allowed on this server."
    if not parts.hostname:
        return "The URL names no host."
    try:
        _ = parts.port
    except ValueError:
        return "The URL's port is not a number between 0 and 65535."
    return ""


def post(url: str, body: bytes, headers: dict[str, str]) -> PostResult:
    """POST ``body`` to ``url`` within ``WEBHOOKS_TIMEOUT``; never raises for network, TLS or
    HTTP problems."""
    timeout = settings.WEBHOOKS_TIMEOUT
    started = time.monotonic()
    deadline = started + timeout
    try:
        status, answer = _post(url, body, headers, deadline)
    except _Failure as failure:
        return PostResult(None, "", _ms(started), str(failure))
    return PostResult(status, answer[:KEPT_ANSWER].decode("utf-8", "replace"), _ms(started), "")


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _post(url: str, body: bytes, headers: dict[str, str], deadline: float) -> tuple[int, bytes]:
    problem = url_problem(url)
    if problem:
        raise _Failure(problem)
    parts = urlsplit(url)
    host, tls = parts.hostname or "", parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    try:
        sock, _address = connect(host, port, deadline=deadline)
    except OutboundError as e:
        raise _Failure(f"{e.code}: {e.message}") from None
    with sock:
        try:
            sock = _tls(host, sock, deadline) if tls else _plain(sock, deadline)
            return _request(host, port, sock, parts, body, headers)
        except TimeoutError:
            seconds = settings.WEBHOOKS_TIMEOUT
            raise _Failure(f"timeout: no complete answer within {seconds:g} seconds.") from None
        except ssl.SSLCertVerificationError as e:
            message = f"tls_invalid: the certificate is not valid ({e.verify_message})."
            raise _Failure(message) from None
        except ssl.SSLError as e:
            raise _Failure(f"tls_failed: the TLS handshake failed ({e.reason or e}).") from None
        except (OSError, http.client.HTTPException) as e:
            raise _Failure(f"connection_failed: {e!r}") from None


def _plain(sock: socket.socket, deadline: float) -> socket.socket:
    sock.settimeout(remaining(deadline))
    return sock


def _tls(host: str, sock: socket.socket, deadline: float) -> ssl.SSLSocket:
    return tls_wrap(sock, host, deadline, settings.WEBHOOKS_CA_FILE)


def _request(
    host: str, port: int, sock: socket.socket, parts: Any, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    connection = _PinnedConnection(host, port, sock)  # Host: name[:port], as RFC 9110 wants
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    sent = {
        "User-Agent": USER_AGENT, "Content-Type": "application/json",
        "Connection": "close", **headers,
    }  # fmt: skip
    try:
        connection.request("POST", path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, response.read(MAX_ANSWER)
    finally:
        connection.close()
