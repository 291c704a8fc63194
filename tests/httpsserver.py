"""A real HTTPS server on loopback, with certificates from a test CA, serving MTA-STS policies.

Tests register a ``Behaviour`` per host name (``server.policies["mta-sts.good.test"] = ...``).
The server presents a certificate for the name the client asked for by SNI (or, with
``cert_name``, for another name), answers by the Host header, and logs every TCP connection
and every request, so tests can assert what was, and was not, reached.
"""

import shutil
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

GOOD_POLICY = "version: STSv1\nmode: enforce\nmx: mx.good.test\nmax_age: 86400\n"


@dataclass(frozen=True)
class Behaviour:
    status: int = 200
    body: bytes = GOOD_POLICY.encode()
    content_type: str = "text/plain; charset=utf-8"  # "" sends no Content-Type at all
    location: str = ""  # sent as Location when set, for redirects
    delay: float = 0.0  # seconds before answering
    trickle: float = 0.0  # seconds between body bytes, to outlast a deadline slowly
    cert_name: str = ""  # present a certificate for this name instead of the one asked


@dataclass(frozen=True)
class Request:
    host: str  # the Host header, port included
    path: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.host.rsplit(":", 1)[0].lower()


class StsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.port: int = self.server_address[1]
        self.ca = trustme.CA()
        self._directory = Path(tempfile.mkdtemp(prefix="sts-ca-"))
        self.ca_file = str(self._directory / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        self.policies: dict[str, Behaviour] = {}
        self.requests: list[Request] = []
        self.connections = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._contexts: dict[str, ssl.SSLContext] = {}
        self.context = self._context_for("localhost")
        self.context.sni_callback = self._choose_certificate

    def reset(self) -> None:
        with self._lock:
            self.policies.clear()
            self.requests.clear()
            self.connections = 0

    def stop(self) -> None:
        self.stopping.set()  # ends delays and trickles still running
        self.shutdown()
        self.server_close()
        shutil.rmtree(self._directory, ignore_errors=True)

    def _context_for(self, name: str) -> ssl.SSLContext:
        with self._lock:
            if name not in self._contexts:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                self.ca.issue_cert(name).configure_cert(context)
                self._contexts[name] = context
            return self._contexts[name]

    def _choose_certificate(
        self, tls: ssl.SSLSocket | ssl.SSLObject, name: str | None, _: ssl.SSLContext
    ) -> None:
        behaviour = self.policies.get(name or "")
        chosen = behaviour.cert_name if behaviour and behaviour.cert_name else name
        tls.context = self._context_for(chosen or "localhost")

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        request, address = super().get_request()
        with self._lock:
            self.connections += 1
        return request, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The handshake runs here, in the request's thread, not in the accepting loop.
        request.settimeout(10)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except OSError:
            return  # the client refused the certificate, or went away
        with tls:
            super().finish_request(tls, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that give up mid-answer are the point of several tests

    def log(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


class _Handler(BaseHTTPRequestHandler):
    server: StsServer

    def do_GET(self) -> None:
        host = self.headers.get("Host", "")
        self.server.log(Request(host, self.path, dict(self.headers.items())))
        behaviour = self.server.policies.get(host.rsplit(":", 1)[0].lower())
        if behaviour is None:
            self.send_error(421)  # Misdirected Request: no such name here
            return
        if behaviour.delay and self.server.stopping.wait(behaviour.delay):
            return
        self.send_response(behaviour.status)
        if behaviour.content_type:
            self.send_header("Content-Type", behaviour.content_type)
        if behaviour.location:
            self.send_header("Location", behaviour.location)
        self.send_header("Content-Length", str(len(behaviour.body)))
        self.end_headers()
        self._send_body(behaviour)

    def _send_body(self, behaviour: Behaviour) -> None:
        if not behaviour.trickle:
            self.wfile.write(behaviour.body)
            return
        for byte in behaviour.body:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            if self.server.stopping.wait(behaviour.trickle):
                return

    def log_message(self, format: str, *args: object) -> None:
        pass


def start_sts_server() -> tuple[StsServer, int, str]:
    """The server running in a thread, its port, and the path of its CA's PEM certificate."""
    server = StsServer()
    threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
    return server, server.port, server.ca_file
