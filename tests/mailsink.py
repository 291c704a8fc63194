"""A real SMTP server for the suite to send to: aiosmtpd on loopback, keeping what it got.

Django's SMTP backend delivers to it over TCP like to any relay; tests read the messages
back as parsed ``email.message.EmailMessage`` objects.
"""

import asyncio
import email
import email.policy
import logging
import threading
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

# aiosmtpd logs every SMTP command at INFO.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)


class _Collector:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        # MAIL comes before DATA, and the server keeps the content as bytes (no decode_data).
        assert envelope.mail_from is not None and isinstance(raw, bytes)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw))
        return "250 Message accepted"


class _Controller(Controller):
    def _trigger_server(self) -> None:
        # Bound to port 0: learn the port the system chose before connecting to it.
        assert isinstance(self.server, asyncio.Server)  # created just before this is called
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class MailSink:
    """An SMTP server on 127.0.0.1 and a free port, started at once; ``stop()`` it."""

    def __init__(self) -> None:
        self._collector = _Collector()
        self._controller = _Controller(self._collector, hostname="127.0.0.1", port=0)
        self._controller.start()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def received(self) -> list[Received]:
        with self._collector.lock:
            return list(self._collector.received)

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    def to(self, address: str) -> list[EmailMessage]:
        """The messages delivered to ``address``."""
        return [r.message for r in self.received if address in r.rcpt_tos]

    def clear(self) -> None:
        with self._collector.lock:
            self._collector.received.clear()

    def stop(self) -> None:
        self._controller.stop()
