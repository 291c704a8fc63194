"""Judging a domain's DANE for SMTP set-up (RFC 7672) from its MX hosts' TLSA records."""

from dataclasses import dataclass

from domains.findings import Finding, Level

USABLE = {2: "DANE-TA", 3: "DANE-EE"}  # RFC 7672 §3.1.3: PKIX-TA(0)/PKIX-EE(1) are not


@dataclass(frozen=True)
class TlsaSet:
    records: list[str]  # as text: "3 1 1 <hex>"
    validated: bool  # the resolver set AD: DNSSEC-validated


def _usages(records: list[str]) -> list[int]:
    return [int(r.split()[0]) for r in records if r.split() and r.split()[0].isdigit()]


def dane_findings(tlsa: dict[str, TlsaSet], *, mx_validated: bool) -> list[Finding]:
    """Findings for the TLSA records at ``_25._tcp.<mx>`` of each MX host in ``tlsa``."""
    protected = {host: s for host, s in tlsa.items() if s.records}
    if not protected:
        return [Finding(
            Level.OK, "dane_not_deployed",
            "No MX host publishes TLSA records, so DANE is not in use (it is optional; "
            "MTA-STS protects delivery without DNSSEC).",
        )]  # fmt: skip
    findings = [f for host, s in protected.items() for f in _host_findings(host, s)]
    if not mx_validated:
        findings.append(Finding(
            Level.ERROR, "dane_mx_not_validated",
            "The MX records are not DNSSEC-validated, so senders cannot use DANE at all.",
            "Sign the domain's zone with DNSSEC and publish its DS record at the parent.",
        ))  # fmt: skip
    bare = sorted(set(tlsa) - set(protected))
    if bare:
        findings.append(Finding(
            Level.WARNING, "dane_partial",
            f"{', '.join(bare)} publish no TLSA records: mail to them is not DANE-protected.",
            "Publish TLSA records at _25._tcp.<host> for every MX host, e.g. "
            "`3 1 1 <SHA-256 of the host's public key>`.",
        ))  # fmt: skip
    if not findings:
        hosts = ", ".join(sorted(protected))
        findings.append(Finding(Level.OK, "dane_ok", f"{hosts} publish validated TLSA records."))
    return findings


def _host_findings(host: str, tlsa: TlsaSet) -> list[Finding]:
    name = f"_25._tcp.{host}"
    findings = []
    if not tlsa.validated:
        findings.append(Finding(
            Level.ERROR, "dane_not_validated",
            f"The TLSA records at {name} are not DNSSEC-validated; senders ignore them.",
            f"Sign the zone of {host} with DNSSEC (and publish its DS at the parent).",
        ))  # fmt: skip
    usages = _usages(tlsa.records)
    if any(u not in USABLE for u in usages):
        level = Level.WARNING if any(u in USABLE for u in usages) else Level.ERROR
        findings.append(Finding(
            level, "dane_unusable_usage",
            f"{name} has TLSA records with usage 0 (PKIX-TA) or 1 (PKIX-EE), which SMTP "
            "senders do not use (RFC 7672 §3.1.3).",
            "Publish usage 3 (DANE-EE, e.g. `3 1 1 <hash>`) or 2 (DANE-TA) instead.",
        ))  # fmt: skip
    return findings
