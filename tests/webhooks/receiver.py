"""A real HTTPS webhook receiver on loopback (certificates from a test CA) that records
every request and answers as the test says: status, body, delay, redirect."""

import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"ok"
    location: str = ""
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    ca_file: str
    port: int
    answers: list[Answer] = field(default_factory=list)  # used in turn; the last one stays
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook", host: str = "hooks.test") -> str:
        return f"https://{host}:{self.port}{path}"

    def answer(self) -> Answer:
        with self.lock:
            if len(self.answers) > 1:
                return self.answers.pop(0)
            return self.answers[0] if self.answers else Answer()

    def reset(self) -> None:
        with self.lock:
            self.answers.clear()
            self.received.clear()


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_POST(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with receiver.lock:
            receiver.received.append(Received(self.path, dict(self.headers.items()), body))
        answer = receiver.answer()
        if answer.delay:
            time.sleep(answer.delay)
        self.send_response(answer.status)
        if answer.location:
            self.send_header("Location", answer.location)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


def start_receiver() -> tuple[Receiver, Callable[[], None]]:
    ca = trustme.CA()
    directory = Path(tempfile.mkdtemp(prefix="webhook-ca-"))
    ca_file = str(directory / "ca.pem")
    ca.cert_pem.write_to_path(ca_file)
    server = _Server(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("hooks.test", "other.test").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    receiver = Receiver(server, ca_file, server.server_address[1])
    server.receiver = receiver
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        shutil.rmtree(directory, ignore_errors=True)

    return receiver, stop
