"""The live TLS probe of one MX host: banner, EHLO, STARTTLS, handshake, QUIT.

The connection goes through ``tlsrpt_saas.outbound`` (public addresses only, checked on
the address connected). One deadline bounds the whole probe. No message is ever sent (no
MAIL FROM). The handshake does not verify, so the chain can always be read; trust, names
and dates are judged afterwards (``certs``, ``findings``). Errors are values: ``error_code``
is ``probe_unsafe_address``, ``probe_connect_failed``, ``probe_timeout`` (unknown results,
retried), ``starttls_missing`` or ``tls_handshake_failed`` (definitive).
"""

import _ssl
import base64
import contextlib
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dns.resolver
from django.conf import settings

from domains.probes.certs import CertFacts, facts, trusted
from tlsrpt_saas.outbound import OutboundError, connect, remaining

UNKNOWN_CODES = ("probe_unsafe_address", "probe_connect_failed", "probe_timeout")
_OUTBOUND = {"unsafe_address": "probe_unsafe_address", "timeout": "probe_timeout"}
_MAX_REPLY = 64 * 1024


_OLD = frozenset({"TLSv1", "TLSv1.1", "SSLv3"})


class _ProbeError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class ProbeResult:
    host: str
    probed_at: datetime
    starttls: bool | None = None  # None: never got as far as EHLO
    tls_version: str = ""
    cipher: str = ""
    certificate: CertFacts | None = None  # the leaf
    chain: list[bytes] = field(default_factory=list)  # DER, leaf first, as presented
    trusted: bool | None = None
    old_tls: str = ""  # "TLSv1"/"TLSv1.1" when the server also accepts it (a second session)
    error_code: str = ""
    error: str = ""  # plain English, for the findings' messages

    @property
    def unknown(self) -> bool:
        return self.error_code in UNKNOWN_CODES

    def facts(self) -> dict[str, object]:
        """The stored facts of the probe (the ``mx_tls`` check's ``records["hosts"][host]``)."""
        return {
            "starttls": self.starttls,
            "tls_version": self.tls_version,
            "cipher": self.cipher,
            "certificate": self.certificate.as_dict() if self.certificate else None,
            # Every certificate the server presented, leaf first (the leaf again).
            "chain": [facts(der).as_dict() for der in self.chain],
            "trusted": self.trusted,
            "old_tls": self.old_tls,
            "error_code": self.error_code,
            "probed_at": self.probed_at.isoformat(),
        }

    def as_dict(self) -> dict[str, object]:
        """Everything, for sharing between tenants (the chain kept for TLSA matching)."""
        chain = [base64.b64encode(der).decode("ascii") for der in self.chain]
        return {**self.facts(), "host": self.host, "chain": chain, "error": self.error}

    @classmethod
    def from_dict(cls, data: dict) -> "ProbeResult":
        cert = data.get("certificate")
        return cls(
            host=data["host"],
            probed_at=datetime.fromisoformat(data["probed_at"]),
            starttls=data.get("starttls"),
            tls_version=data.get("tls_version", ""),
            cipher=data.get("cipher", ""),
            certificate=CertFacts(**cert) if cert else None,
            chain=[base64.b64decode(der) for der in data.get("chain", [])],
            trusted=data.get("trusted"),
            old_tls=data.get("old_tls", ""),
            error_code=data.get("error_code", ""),
            error=data.get("error", ""),
        )


class _Smtp:
    """Just enough SMTP client for the probe, every read bounded by the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline, self.buffer = sock, deadline, b""

    def reply(self) -> tuple[int, list[str]]:
        lines: list[str] = []
        while True:
            line = self._line()
            lines.append(line[4:])
            if len(line) < 4 or line[3] != "-":
                break
        if not line[:3].isdigit():
            raise _ProbeError("probe_connect_failed", f"an invalid SMTP reply: {line[:80]!r}")
        return int(line[:3]), lines

    def command(self, text: str) -> tuple[int, list[str]]:
        self.sock.settimeout(remaining(self.deadline))
        self.sock.sendall(text.encode("ascii") + b"\r\n")
        return self.reply()

    def _line(self) -> str:
        while b"\n" not in self.buffer:
            if len(self.buffer) > _MAX_REPLY:
                raise _ProbeError("probe_connect_failed", "an SMTP reply too long.")
            self.sock.settimeout(remaining(self.deadline))
            data = self.sock.recv(4096)
            if not data:
                raise _ProbeError("probe_connect_failed", "the server closed the connection.")
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.rstrip(b"\r").decode("utf-8", "replace")


def _tls_context(old_only: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # read any chain; trust is judged separately
    # Accept whatever the server can do, so an old set-up is seen (tls_version_old), not
    # merely refused; what it negotiates is recorded and judged.
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with contextlib.suppress(ssl.SSLError):  # an OpenSSL without levels keeps its defaults
        context.set_ciphers("ALL:!aNULL:@SECLEVEL=0")  # a certificate, always
    if old_only:  # does the server also accept a deprecated version? (RFC 8996)
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    return context


def _presented_chain(tls: ssl.SSLSocket) -> list[bytes]:
    # Python 3.13 made get_unverified_chain public; 3.10-3.12 have it on the inner object.
    inner = getattr(tls, "_sslobj", None)
    getter = getattr(tls, "get_unverified_chain", None) or getattr(
        inner, "get_unverified_chain", None
    )
    if getter is not None:
        try:
            chain = getter() or []
            return [c if isinstance(c, bytes) else c.public_bytes(_ssl.ENCODING_DER) for c in chain]
        except (ssl.SSLError, ValueError, AttributeError):
            pass
    leaf = tls.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def _starttls(result: ProbeResult, sock: socket.socket, deadline: float) -> "_Smtp":
    """Banner, EHLO and STARTTLS: the socket is ready for the handshake."""
    smtp = _Smtp(sock, deadline)
    code, _ = smtp.reply()
    if code != 220:
        raise _ProbeError("probe_connect_failed", f"the server greeted with {code}, not 220.")
    code, lines = smtp.command(f"EHLO {settings.MX_PROBE_HELO}")
    if code != 250:
        raise _ProbeError("probe_connect_failed", f"the server answered EHLO with {code}.")
    result.starttls = any(line.split()[:1] == ["STARTTLS"] for line in map(str.upper, lines))
    if not result.starttls:
        smtp.command("QUIT")
        raise _ProbeError("starttls_missing", f"{result.host} does not offer STARTTLS.")
    code, _ = smtp.command("STARTTLS")
    if code != 220:
        raise _ProbeError("tls_handshake_failed", f"{result.host} refused STARTTLS ({code}).")
    return smtp


def _converse(result: ProbeResult, sock: socket.socket, deadline: float, ca_file: str) -> None:
    smtp = _starttls(result, sock, deadline)
    try:
        sock.settimeout(remaining(deadline))
        tls = _tls_context().wrap_socket(sock, server_hostname=result.host)
    except (ssl.SSLError, ConnectionError) as e:
        raise _ProbeError("tls_handshake_failed", f"the TLS handshake failed ({e}).") from e
    result.tls_version = tls.version() or ""
    result.cipher = (tls.cipher() or ("",))[0]
    result.chain = _presented_chain(tls)
    if result.chain:
        result.certificate = facts(result.chain[0])
        result.trusted = trusted(result.chain, ca_file)
    smtp.sock = tls
    with contextlib.suppress(OSError, _ProbeError):  # the facts are in; a rude goodbye is fine
        smtp.command("QUIT")
    tls.close()


def mx_probe(
    host: str,
    *,
    port: int | None = None,
    deadline_s: float | None = None,
    resolver: dns.resolver.Resolver | None = None,
    ca_file: str | None = None,
) -> ProbeResult:
    """Probe ``host``'s SMTP TLS set-up; never raises for what the network does."""
    port = settings.MX_PROBE_PORT if port is None else port
    deadline_s = settings.MX_PROBE_DEADLINE if deadline_s is None else deadline_s
    ca_file = settings.MTA_STS_CA_FILE if ca_file is None else ca_file
    result = ProbeResult(host=host, probed_at=datetime.now(UTC))
    deadline = time.monotonic() + deadline_s
    try:
        sock, _ = connect(host, port, deadline=deadline, resolver=resolver)
    except OutboundError as e:
        result.error_code = _OUTBOUND.get(e.code, "probe_connect_failed")
        result.error = e.message
        return result
    try:
        _converse(result, sock, deadline, ca_file)
    except _ProbeError as e:
        result.error_code, result.error = e.code, e.message
    except TimeoutError:
        result.error_code = "probe_timeout"
        result.error = f"{host} did not finish the conversation within {deadline_s:g} s."
    except OSError as e:
        result.error_code = "probe_connect_failed"
        result.error = f"the connection to {host} failed ({e})."
    finally:
        sock.close()
    if result.tls_version and result.tls_version not in _OLD:
        result.old_tls = _old_version_accepted(host, port, deadline, resolver)
    return result


def _old_version_accepted(
    host: str, port: int, deadline: float, resolver: dns.resolver.Resolver | None
) -> str:
    """A second, short session capped at TLS 1.1: the version it gets, or "" (refused, or
    this OpenSSL cannot offer it, or no time left). Nothing here changes the result else."""
    try:
        context = _tls_context(old_only=True)
        sock, _ = connect(host, port, deadline=deadline, resolver=resolver)
    except (OutboundError, ValueError, ssl.SSLError):
        return ""
    try:
        smtp = _starttls(ProbeResult(host=host, probed_at=datetime.now(UTC)), sock, deadline)
        sock.settimeout(remaining(deadline))
        tls = context.wrap_socket(sock, server_hostname=host)
    except (_ProbeError, OSError, ValueError):
        return ""
    version = tls.version() or ""
    smtp.sock = tls
    with contextlib.suppress(OSError, _ProbeError):
        smtp.command("QUIT")
    tls.close()
    return version if version in _OLD else ""
