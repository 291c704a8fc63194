"""The web tier started for real on loopback: gunicorn (sync workers) and Caddy in front,
with the Caddyfile that ships in ``docker/``."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CADDYFILE = ROOT / "docker" / "Caddyfile"
# Debian's Caddy (bin/testenv installs it); CADDY points elsewhere.
CADDY = os.environ.get("CADDY") or shutil.which("caddy") or "/usr/bin/caddy"


@dataclass(frozen=True)
class Listener:
    host: str
    port: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start listening on 127.0.0.1:{port}")


@contextmanager
def _process_group(
    cmd: list[str], env: Mapping[str, str], port: int, what: str, stop: signal.Signals
) -> Iterator[None]:
    process = subprocess.Popen(cmd, cwd=ROOT, env=dict(env), start_new_session=True)
    try:
        wait_listening(port, process, what)
        yield
    finally:
        _stop(process, stop)


def _stop(process: subprocess.Popen, stop: signal.Signals) -> None:
    """Stop the process and every child it started (its own process group)."""
    try:
        os.killpg(process.pid, stop)
        process.wait(20)
    except ProcessLookupError:
        process.wait(5)  # already gone
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


@contextmanager
def gunicorn(env: Mapping[str, str], workers: int = 1) -> Iterator[Listener]:
    """``gunicorn tlsrpt_saas.wsgi`` with ``workers`` sync workers on a free port."""
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "tlsrpt_saas.wsgi:application",
           "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
           # --preload: Django is loaded before the workers fork, so all are ready at once.
           "--preload", "--log-level", "warning", "--no-control-socket"]  # fmt: skip
    # SIGKILL: nothing to save, and even gunicorn's quick shutdown takes seconds.
    with _process_group(cmd, {**os.environ, **env}, port, "gunicorn", signal.SIGKILL):
        yield Listener("127.0.0.1", port)


@contextmanager
def caddy(upstream: Listener, home: Path, env: Mapping[str, str]) -> Iterator[Listener]:
    """Caddy with ``docker/Caddyfile`` on a free port in front of ``upstream``: plain HTTP
    on loopback, no admin endpoint, its state under ``home``."""
    port = free_port()
    caddy_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "SITE_ADDRESS": f"http://127.0.0.1:{port}",
        "UPSTREAM": f"{upstream.host}:{upstream.port}",
        "CADDY_ADMIN": "off",
        "CADDY_GLOBAL_OPTIONS": "auto_https off",
        **env,
    }
    cmd = [CADDY, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]
    with _process_group(cmd, caddy_env, port, "caddy", signal.SIGTERM):
        yield Listener("127.0.0.1", port)
