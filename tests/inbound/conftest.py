"""Servers of the inbound doors, started for real on loopback."""

import asyncio
import threading
from collections.abc import Iterator

import pytest

from reports.inbound.smtp import protocol_factory
from tests.conftest import _end_other_sessions


@pytest.fixture
def smtp_server(transactional_db: None) -> Iterator[tuple[str, int]]:
    """The SMTP door in a thread of this process, on a free port; settings apply live."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        holder["server"] = loop.run_until_complete(
            loop.create_server(protocol_factory, host="127.0.0.1", port=0)
        )
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    port = holder["server"].sockets[0].getsockname()[1]
    yield "127.0.0.1", port
    loop.call_soon_threadsafe(holder["server"].close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    _end_other_sessions()  # the door's worker threads keep their own connections
