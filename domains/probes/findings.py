"""Judging one MX probe: findings with stable codes, in the shape of the DNS findings.

What a probe saw is about a public host and shared by every tenant using it; the judgement
is per domain, because the domain's MTA-STS policy (its ``mx`` patterns) and the TLSA
records at ``_25._tcp.<mx>`` decide what matters.
"""

import hashlib
from datetime import datetime, timedelta

from cryptography import x509

from domains.findings import Finding, Level
from domains.probes.certs import covers, name_matches, spki
from domains.probes.smtp_tls import ProbeResult

SOON_WARNING = timedelta(days=21)
SOON_ERROR = timedelta(days=7)
OLD_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1")
_RENEW = "Renew the certificate (and make sure the renewal is installed on the MX host)."


def probe_findings(
    probe: ProbeResult,
    *,
    now: datetime,
    policy_mx: list[str] | None = None,
    tlsa: list[str] | None = None,
) -> list[Finding]:
    """Findings for ``probe``; ``policy_mx``: the MTA-STS policy's ``mx`` patterns (None:
    no policy); ``tlsa``: the TLSA records at ``_25._tcp.<host>`` as text ("3 1 1 <hex>")."""
    if probe.error_code:
        return [_failure(probe, policy_mx is not None)]
    if not probe.chain or probe.certificate is None:
        return [_failure(probe, policy_mx is not None, "no certificate was presented.")]
    findings = _dates(probe, now) + _names(probe, policy_mx) + _version(probe, policy_mx)
    dane = _tlsa(probe, tlsa or [])
    findings += dane
    if probe.trusted is False:
        findings.append(_untrusted(probe, policy_mx is not None, dane_ok=bool(tlsa) and not dane))
    if not findings:
        findings.append(Finding(
            Level.OK, "mx_tls_ok",
            f"{probe.host} offers STARTTLS ({probe.tls_version}) with a valid, trusted "
            f"certificate until {probe.certificate.not_after[:10]}.",
        ))  # fmt: skip
    return findings


def _failure(probe: ProbeResult, sts: bool, error: str = "") -> Finding:
    host, error = probe.host, error or probe.error
    if probe.unknown:
        return Finding(
            Level.UNKNOWN, probe.error_code,
            f"{host} could not be probed: {error} The probe will run again later.",
        )  # fmt: skip
    if probe.error_code == "starttls_missing":
        return Finding(
            Level.ERROR if sts else Level.WARNING, "starttls_missing",
            f"{host} does not offer STARTTLS: mail to it travels unencrypted"
            + (", and MTA-STS senders refuse to deliver." if sts else "."),
            f"Enable STARTTLS on {host}'s SMTP server with a certificate for {host}.",
        )  # fmt: skip
    return Finding(
        Level.ERROR, "tls_handshake_failed",
        f"{host} offers STARTTLS but the TLS handshake failed: {error}",
        f"Check {host}'s TLS set-up: a certificate and key installed, TLS 1.2 or later enabled.",
    )  # fmt: skip


def _dates(probe: ProbeResult, now: datetime) -> list[Finding]:
    assert probe.certificate is not None
    host = probe.host
    not_before = datetime.fromisoformat(probe.certificate.not_before)
    not_after = datetime.fromisoformat(probe.certificate.not_after)
    day = not_after.date().isoformat()
    if now > not_after:
        return [Finding(Level.ERROR, "certificate_expired",
                        f"{host}'s certificate expired on {day}.", _RENEW)]  # fmt: skip
    if now < not_before:
        return [Finding(
            Level.ERROR, "certificate_not_yet_valid",
            f"{host}'s certificate is valid only from {not_before.date().isoformat()}.",
            f"Install a certificate that is valid now on {host} (check its clock).",
        )]  # fmt: skip
    left = not_after - now
    if left < SOON_WARNING:
        level = Level.ERROR if left < SOON_ERROR else Level.WARNING
        return [Finding(level, "certificate_expires_soon",
                        f"{host}'s certificate expires on {day}, in {left.days} days.",
                        _RENEW)]  # fmt: skip
    return []


def _version(probe: ProbeResult, policy_mx: list[str] | None) -> list[Finding]:
    if probe.tls_version in OLD_VERSIONS:
        # RFC 8461 §4.1 and RFC 8996: TLS 1.2 at least; MTA-STS senders refuse older ones.
        return [Finding(
            Level.ERROR if policy_mx is not None else Level.WARNING, "tls_version_old",
            f"{probe.host} negotiates {probe.tls_version} at best; TLS 1.0 and 1.1 are "
            "deprecated (RFC 8996)" + (" and MTA-STS senders refuse them." if policy_mx else "."),
            f"Enable TLS 1.2 and 1.3 on {probe.host}'s SMTP server.",
        )]  # fmt: skip
    if probe.old_tls:  # the best is fine, but a client asking for less still gets it
        return [Finding(
            Level.WARNING, "tls_version_old",
            f"{probe.host} negotiates {probe.tls_version}, but also accepts {probe.old_tls}, "
            "deprecated by RFC 8996: a downgraded or old client still gets it.",
            f"Turn off TLS 1.0 and 1.1 on {probe.host}'s SMTP server (keep 1.2 and 1.3).",
        )]  # fmt: skip
    return []


def _names(probe: ProbeResult, policy_mx: list[str] | None) -> list[Finding]:
    assert probe.certificate is not None
    host, names = probe.host, ", ".join(probe.certificate.sans) or "no names"
    if not covers(probe.chain[0], host):
        return [Finding(
            Level.ERROR, "certificate_name_mismatch",
            f"{host}'s certificate is for {names}, not {host}.",
            f"Install a certificate whose subjectAltName includes {host}.",
        )]  # fmt: skip
    if policy_mx is not None and not any(name_matches(p, host) for p in policy_mx):
        patterns = ", ".join(policy_mx) or "none"
        return [Finding(
            Level.ERROR, "certificate_name_mismatch",
            f"{host}'s certificate names {host}, which matches none of the MTA-STS policy's "
            f"mx patterns ({patterns}): MTA-STS senders refuse it.",
            f"Add `mx: {host}` to the MTA-STS policy (and change its id).",
        )]  # fmt: skip
    return []


def _untrusted(probe: ProbeResult, sts: bool, *, dane_ok: bool) -> Finding:
    host = probe.host
    assert probe.certificate is not None
    issuer = probe.certificate.issuer
    if dane_ok:
        return Finding(
            Level.OK, "certificate_untrusted",
            f"{host}'s certificate (issued by {issuer}) does not chain to a public root, "
            "but a DANE-EE TLSA record matches it: DANE senders accept it.",
        )  # fmt: skip
    return Finding(
        Level.ERROR if sts else Level.WARNING, "certificate_untrusted",
        f"{host}'s certificate (issued by {issuer}) does not chain to a trusted root "
        "(self-signed, an unknown CA or a missing intermediate)"
        + (": MTA-STS senders refuse it." if sts else "."),
        f"Install on {host} a certificate from a public CA, with its intermediates.",
    )  # fmt: skip


def _parse_tlsa(record: str) -> tuple[int, int, int, bytes] | None:
    parts = record.split()
    if len(parts) < 4 or not all(p.isdigit() for p in parts[:3]):
        return None
    try:
        return int(parts[0]), int(parts[1]), int(parts[2]), bytes.fromhex("".join(parts[3:]))
    except ValueError:
        return None


def tlsa_matches(usage: int, selector: int, mtype: int, data: bytes, chain: list[bytes]) -> bool:
    """True when the TLSA record matches the leaf (usage 3) or a certificate above it (2)."""
    candidates = chain[:1] if usage == 3 else chain[1:]
    for der in candidates:
        content = der if selector == 0 else spki(x509.load_der_x509_certificate(der))
        digest = {0: content, 1: hashlib.sha256(content).digest(),
                  2: hashlib.sha512(content).digest()}.get(mtype)  # fmt: skip
        if digest == data:
            return True
    return False


def _tlsa(probe: ProbeResult, records: list[str]) -> list[Finding]:
    parsed = [(r, p) for r in records if (p := _parse_tlsa(r)) and p[0] in (2, 3)]
    if not parsed or any(tlsa_matches(*p, probe.chain) for _, p in parsed):
        return []
    listed = "; ".join(f"usage {u} selector {s} matching type {m}" for _, (u, s, m, _d) in parsed)
    note = ""
    if any(p[0] == 2 for _, p in parsed) and len(probe.chain) < 2:
        note = " The server presented no issuer certificate to match the usage-2 records with."
    key = probe.certificate.spki_sha256 if probe.certificate else ""
    return [Finding(
        Level.ERROR, "tlsa_mismatch",
        f"No TLSA record at _25._tcp.{probe.host} ({listed}) matches the certificate "
        f"{probe.host} presents (SPKI SHA-256 {key}): DANE senders refuse to deliver.{note}",
        f"Publish `3 1 1 {key}` at _25._tcp.{probe.host}, or install the certificate the "
        "records describe.",
    )]  # fmt: skip
