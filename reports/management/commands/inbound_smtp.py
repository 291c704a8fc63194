"""``manage.py inbound_smtp``: the SMTP (or LMTP) server of the tenants' report addresses."""

import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from reports.inbound.smtp import protocol_factory


class Command(BaseCommand):
    help = "Receive TLS reports by SMTP (or LMTP behind a mail server) and store them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.INBOUND_SMTP_HOST)
        parser.add_argument("--port", type=int, default=settings.INBOUND_SMTP_PORT)

    def handle(self, *args: object, host: str, port: int, **options: object) -> None:
        asyncio.run(self._serve(host, port))

    async def _serve(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(protocol_factory, host=host, port=port)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        kind = "LMTP" if settings.INBOUND_SMTP_LMTP else "SMTP"
        bound = server.sockets[0].getsockname()[1]  # the real one when --port 0
        self.stdout.write(f"{kind} server listening on {host}:{bound}", ending="\n")
        self.stdout.flush()
        async with server:
            await stop.wait()
        self.stdout.write("Stopped.")
