"""The web tier started for real on loopback: gunicorn (sync workers) and Caddy in front,
with the Caddyfile that ships in ``docker/``; and Pebble, the ACME CA that Caddy's
on-demand certificates come from in tests."""

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

ROOT = Path(__file__).resolve().parent.parent
CADDYFILE = ROOT / "docker" / "Caddyfile"
# Debian's Caddy (bin/testenv installs it); CADDY points elsewhere.
CADDY = os.environ.get("CADDY") or shutil.which("caddy") or "/usr/bin/caddy"
# Debian's Pebble, Let's Encrypt's test ACME server (bin/testenv installs it).
PEBBLE = os.environ.get("PEBBLE") or shutil.which("pebble") or "/usr/bin/pebble"


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
    cmd: list[str],
    env: Mapping[str, str],
    ports: tuple[int, ...],
    what: str,
    stop: signal.Signals,
    log: Path | None = None,
) -> Iterator[None]:
    """``cmd`` in a process group of its own, until the block ends; its output goes to
    ``log`` when given."""
    with (log or Path(os.devnull)).open("ab") as output:
        process = subprocess.Popen(
            cmd, cwd=ROOT, env=dict(env), start_new_session=True,
            stdout=output if log else None, stderr=subprocess.STDOUT if log else None,
        )  # fmt: skip
        try:
            for port in ports:
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
    with _process_group(cmd, {**os.environ, **env}, (port,), "gunicorn", signal.SIGKILL):
        yield Listener("127.0.0.1", port)


@dataclass(frozen=True)
class Caddy:
    site: Listener  # SITE_ADDRESS's site: plain HTTP
    https: Listener  # the hosted policies' site: HTTPS with certificates on demand
    log: Path  # Caddy's log (JSON lines)


@contextmanager
def caddy(upstream: Listener, home: Path, env: Mapping[str, str]) -> Iterator[Listener]:
    """Caddy with ``docker/Caddyfile`` on a free port in front of ``upstream``: plain HTTP
    on loopback, no admin endpoint, its state under ``home``."""
    with caddy_server(upstream, home, {"CADDY_GLOBAL_OPTIONS": "auto_https off", **env}) as c:
        yield c.site


@contextmanager
def caddy_server(upstream: Listener, home: Path, env: Mapping[str, str]) -> Iterator[Caddy]:
    """Caddy with ``docker/Caddyfile`` in front of ``upstream``: SITE_ADDRESS's site on a
    free port (plain HTTP), the hosted policies' HTTPS site on another (loopback only),
    no admin endpoint, its state and log under ``home``."""
    site, https, http = free_port(), free_port(), free_port()
    caddy_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "SITE_ADDRESS": f"http://127.0.0.1:{site}",
        "UPSTREAM": f"{upstream.host}:{upstream.port}",
        "CADDY_ADMIN": "off",
        # Never 80 and 443, nor every interface: other tests' Caddys run beside this one.
        "HTTP_PORT": str(http),
        "HTTPS_PORT": str(https),
        "HOSTED_BIND": "127.0.0.1",
        **env,
    }
    cmd = [CADDY, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]
    home.mkdir(parents=True, exist_ok=True)
    log = home / "caddy.log"
    with _process_group(cmd, caddy_env, (site,), "caddy", signal.SIGTERM, log):
        yield Caddy(Listener("127.0.0.1", site), Listener("127.0.0.1", https), log)


@dataclass(frozen=True)
class Pebble:
    directory_url: str  # the ACME directory
    listener_ca: Path  # the CA of Pebble's own HTTPS listeners (what Caddy must trust)
    root: Path  # the root CA of the certificates Pebble issues (what senders must trust)


@contextmanager
def pebble(home: Path) -> Iterator[Pebble]:
    """Pebble on two free loopback ports: every challenge passes without a lookup or a
    connection (PEBBLE_VA_ALWAYS_VALID), at once (PEBBLE_VA_NOSLEEP), and no good nonce
    is refused (Caddy would retry, slowly)."""
    home.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    listener_ca = home / "pebble-listener-ca.pem"
    ca.cert_pem.write_to_path(str(listener_ca))
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(str(home / "pebble-cert.pem"))
    cert.private_key_pem.write_to_path(str(home / "pebble-key.pem"))
    acme, management = free_port(), free_port()
    config = {"pebble": {
        "listenAddress": f"127.0.0.1:{acme}",
        "managementListenAddress": f"127.0.0.1:{management}",
        "certificate": str(home / "pebble-cert.pem"),
        "privateKey": str(home / "pebble-key.pem"),
        # Where its validator would connect: never, with PEBBLE_VA_ALWAYS_VALID.
        "httpPort": free_port(),
        "tlsPort": free_port(),
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }}  # fmt: skip
    (home / "pebble.json").write_text(json.dumps(config))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PEBBLE_VA_ALWAYS_VALID": "1",
        "PEBBLE_VA_NOSLEEP": "1",
        "PEBBLE_WFE_NONCEREJECT": "0",
    }
    cmd = [PEBBLE, "-config", str(home / "pebble.json")]
    with _process_group(
        cmd, env, (acme, management), "pebble", signal.SIGTERM, home / "pebble.log"
    ):
        root = home / "pebble-root.pem"
        trust = ssl.create_default_context(cafile=str(listener_ca))
        url = f"https://127.0.0.1:{management}/roots/0"
        with urllib.request.urlopen(url, context=trust, timeout=10) as answer:
            root.write_bytes(answer.read())
        yield Pebble(f"https://127.0.0.1:{acme}/dir", listener_ca, root)
