"""Servers the benchmarks start on loopback, and the small asyncio HTTP client that loads them.

The client writes prepared requests, a connection each, so that it takes as little as
possible of the CPU the server is measured on.
"""

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], port: int, env: dict[str, str], log: Path | None) -> subprocess.Popen:
    """Start ``cmd`` in its own process group; return once it listens on ``port``."""
    out = log.open("wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"{cmd} did not listen on {port}")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(20)


async def _exchange(port: int, request: bytes, status: bytes, limit: asyncio.Semaphore) -> None:
    async with limit:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        answered = (await reader.readline()).split(b" ", 2)[1]
        await reader.read()
        writer.close()
        if answered != status:
            raise RuntimeError(f"{request.split(b' ', 1)[0].decode()} answered {answered.decode()}")


def send_all(port: int, requests: Sequence[bytes], status: bytes, clients: int) -> None:
    """Send every request, ``clients`` connections at a time; each must answer ``status``."""

    async def run() -> None:
        limit = asyncio.Semaphore(clients)
        await asyncio.gather(*(_exchange(port, r, status, limit) for r in requests))

    asyncio.run(run())
