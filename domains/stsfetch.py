"""Fetch a domain's MTA-STS policy over HTTPS (RFC 8461 §3.3) without becoming an SSRF proxy.

The host name belongs to a customer, and so do its addresses: the connection goes through
``tlsrpt_saas.outbound`` (global unicast addresses only, connected to that exact address, so
no library resolves the name again and DNS rebinding cannot swap the target between the check
and the connection); its error codes become ``sts_fetch_<code>`` here.
Every outcome is a ``StsFetch`` with a stable ``error_code``; network, TLS and HTTP problems
never raise.
"""

import dataclasses
import http.client
import socket
import ssl
import time
from dataclasses import dataclass

import dns.resolver

from tlsrpt_saas.outbound import OutboundError, connect, tls_wrap
from tlsrpt_saas.outbound import is_public_address as is_public_address  # its old home

POLICY_PATH = "/.well-known/mta-sts.txt"
USER_AGENT = "tlsrpt-saas MTA-STS check"
_CHUNK = 8192
_RETRIED = "; the check is retried"

# Every error code with its fix, formatted with the _Target's fields.
FIXES = {
    "sts_fetch_dns_missing": "Publish an A and/or AAAA record for {host}.",
    "sts_fetch_dns_unknown": "Make sure the name servers of {host} answer" + _RETRIED + ".",
    "sts_fetch_unsafe_address": (
        "Point {host} at the public address of its web server; private, loopback and "
        "other internal addresses are never contacted."
    ),
    "sts_fetch_connect_failed": (
        "Make sure {host} accepts HTTPS connections on port {port}" + _RETRIED + "."
    ),
    "sts_fetch_timeout": "Make sure {url} answers within {timeout:g} seconds" + _RETRIED + ".",
    "sts_fetch_tls_invalid": (
        "Install a certificate valid for {host} issued by a public CA, with its intermediate "
        "certificates, and renew it before it expires."
    ),
    "sts_fetch_tls_failed": "Serve {host} over TLS 1.2 or later.",
    "sts_fetch_http_invalid": "Make sure the web server of {host} answers with valid HTTP/1.1.",
    "sts_fetch_status": "Serve the policy with status 200 at {url} exactly, without redirects.",
    "sts_fetch_content_type": "Serve the policy with 'Content-Type: text/plain'.",
    "sts_fetch_too_large": "Keep the policy under {max_bytes} bytes; it needs only a few lines.",
    "sts_fetch_not_utf8": "Save the policy as plain UTF-8 text (ASCII is enough).",
}
# No answer this time, through nobody's proven fault: recorded as unknown and retried.
TEMPORARY = frozenset({"sts_fetch_dns_unknown", "sts_fetch_connect_failed", "sts_fetch_timeout"})


@dataclass(frozen=True)
class StsFetch:
    ok: bool
    definitive: bool
    error_code: str
    message: str
    fix: str
    url: str
    address: str = ""  # the IP actually connected to
    status: int | None = None
    body: str = ""


@dataclass(frozen=True)
class _Target:
    host: str
    port: int
    url: str
    timeout: float
    deadline: float
    max_bytes: int


class _Failure(Exception):
    """Ends a fetch with this code; turned into a StsFetch before leaving the module."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def fetch_sts_policy(
    domain: str,
    *,
    resolver: dns.resolver.Resolver,
    timeout: float,
    max_bytes: int = 65536,
    port: int = 443,
    ca_file: str | None = None,
    allowed_addresses: frozenset[str] = frozenset(),
) -> StsFetch:
    """The policy at ``https://mta-sts.<domain>/.well-known/mta-sts.txt``, or why not.

    ``timeout`` bounds connect, TLS and the response together (DNS has the resolver's own
    lifetime). ``allowed_addresses`` lets tests reach non-public addresses.
    """
    host = f"mta-sts.{domain.strip().rstrip('.').lower()}"
    url = f"https://{host}{'' if port == 443 else f':{port}'}{POLICY_PATH}"
    target = _Target(host, port, url, timeout, time.monotonic() + timeout, max_bytes)
    address = ""
    try:
        sock, address = _connect(target, resolver, allowed_addresses)
        with sock:
            body = _get(target, _tls(target, sock, ca_file))
    except _Failure as failure:
        via = f" (connected to {address})" if address else ""
        message = f"Could not fetch the MTA-STS policy at {url}{via}: {failure.message}"
        fix = FIXES[failure.code].format_map(dataclasses.asdict(target))
        definitive = failure.code not in TEMPORARY
        return StsFetch(False, definitive, failure.code, message, fix, url, address, failure.status)
    message = f"Fetched the MTA-STS policy at {url} from {address}."
    return StsFetch(True, True, "", message, "", url, address, 200, body)


def _connect(
    target: _Target, resolver: dns.resolver.Resolver, allowed: frozenset[str]
) -> tuple[socket.socket, str]:
    """A TCP socket connected to the first vetted address that answers, and that address."""
    try:
        return connect(
            target.host, target.port, deadline=target.deadline, resolver=resolver, allowed=allowed
        )
    except OutboundError as e:
        if e.code == "timeout":
            raise _timeout(target) from None
        raise _Failure(f"sts_fetch_{e.code}", e.message) from None


def _tls(target: _Target, sock: socket.socket, ca_file: str | None) -> ssl.SSLSocket:
    try:
        return tls_wrap(sock, target.host, target.deadline, ca_file)
    except TimeoutError:
        raise _timeout(target) from None
    except ssl.SSLCertVerificationError as e:
        message = f"the certificate is not valid ({e.verify_message})."
        raise _Failure("sts_fetch_tls_invalid", message) from None
    except (ssl.SSLEOFError, ConnectionError) as e:
        raise _broken(e) from None
    except ssl.SSLError as e:
        message = f"the TLS handshake failed ({e.reason or e})."
        raise _Failure("sts_fetch_tls_failed", message) from None
    except OSError as e:
        raise _broken(e) from None


class _PinnedConnection(http.client.HTTPSConnection):
    """HTTPS over a socket already connected to a vetted address: it never resolves or dials."""

    def __init__(self, target: _Target, tls: ssl.SSLSocket) -> None:
        super().__init__(target.host, target.port, context=tls.context)
        self._pinned = tls

    def connect(self) -> None:
        self.sock = self._pinned


def _get(target: _Target, tls: ssl.SSLSocket) -> str:
    connection = _PinnedConnection(target, tls)  # sends Host: name[:port], as RFC 9110 wants
    headers = {"User-Agent": USER_AGENT, "Cache-Control": "no-cache", "Connection": "close"}
    try:
        connection.request("GET", POLICY_PATH, headers=headers)
        response = connection.getresponse()
        _check_response(response)
        body = _read_body(response, target.max_bytes)
    except TimeoutError:
        raise _timeout(target) from None
    except OSError as e:  # before HTTPException: RemoteDisconnected is both
        raise _broken(e) from None
    except http.client.HTTPException as e:
        message = f"the server sent an invalid HTTP response ({e!r})."
        raise _Failure("sts_fetch_http_invalid", message) from None
    finally:
        connection.close()
    if body is None:
        message = f"the policy is larger than {target.max_bytes} bytes."
        raise _Failure("sts_fetch_too_large", message, 200)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        message = f"the policy is not UTF-8 text ({e.reason} at byte {e.start})."
        raise _Failure("sts_fetch_not_utf8", message, 200) from None


def _check_response(response: http.client.HTTPResponse) -> None:
    status = response.status
    if status != 200:
        location = response.getheader("Location")
        moved = f", a redirect to {location} that was not followed" if location else ""
        raise _Failure("sts_fetch_status", f"the server answered HTTP {status}{moved}.", status)
    # The raw header: get_content_type() reports text/plain when it is missing.
    content_type = response.getheader("Content-Type") or ""
    if content_type.split(";")[0].strip().lower() != "text/plain":
        message = f"the content type is {content_type or 'missing'!r}, not text/plain."
        raise _Failure("sts_fetch_content_type", message, status)


def _read_body(response: http.client.HTTPResponse, max_bytes: int) -> bytes | None:
    """The body, or None when it is longer than ``max_bytes``; never reads much beyond."""
    chunks: list[bytes] = []
    size = 0
    while size <= max_bytes:
        chunk = response.read(min(_CHUNK, max_bytes + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    return None


def _timeout(target: _Target) -> _Failure:
    return _Failure("sts_fetch_timeout", f"no complete answer within {target.timeout:g} seconds.")


def _broken(error: OSError) -> _Failure:
    return _Failure("sts_fetch_connect_failed", f"the connection failed ({error}).")
