"""Reading a certificate chain an MX host presented: its facts, its names and its trust.

Pure functions over DER bytes (no network). Trust is judged apart from names and dates
(those have findings of their own): the chain is verified at a moment inside the leaf's
validity, for a name the leaf carries, against ``MTA_STS_CA_FILE`` or the system's roots.
"""

import hashlib
import ssl
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509 import verification


@dataclass(frozen=True)
class CertFacts:
    subject: str
    sans: list[str]
    issuer: str
    not_before: str  # ISO 8601, UTC
    not_after: str
    key_type: str  # "RSA", "EC", "Ed25519", ...
    key_bits: int
    sha256: str  # hex, of the certificate's DER
    spki_sha256: str  # hex, of its SubjectPublicKeyInfo

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _key(cert: x509.Certificate) -> tuple[str, int]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    return type(key).__name__, 0


def dns_names(cert: x509.Certificate) -> list[str]:
    """The DNS names in the subjectAltName, or the common name when there are none."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = [str(n) for n in ext.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        names = []
    if names:
        return names
    cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return [str(cn.value) for cn in cns]


def facts(der: bytes) -> CertFacts:
    cert = x509.load_der_x509_certificate(der)
    key_type, key_bits = _key(cert)
    return CertFacts(
        subject=cert.subject.rfc4514_string(),
        sans=dns_names(cert),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc.isoformat(),
        not_after=cert.not_valid_after_utc.isoformat(),
        key_type=key_type,
        key_bits=key_bits,
        sha256=hashlib.sha256(der).hexdigest(),
        spki_sha256=hashlib.sha256(spki(cert)).hexdigest(),
    )


def name_matches(pattern: str, host: str) -> bool:
    """RFC 6125 / RFC 8461 §4.1: a ``*.`` wildcard stands for exactly one left-most label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        label, _, rest = host.partition(".")
        return bool(label) and rest == pattern[2:]
    return pattern == host


def covers(der: bytes, host: str) -> bool:
    """True when the certificate is valid for ``host`` by name."""
    cert = x509.load_der_x509_certificate(der)
    return any(name_matches(name, host) for name in dns_names(cert))


# Names are judged elsewhere, and mail servers' certificates often break Web PKI rules
# (a critical subjectAltName, no key usage) that SMTP senders do not enforce: the leaf
# needs only its subjectAltName (the verifier insists), CAs keep the Web PKI rules.
_EE_POLICY = verification.ExtensionPolicy.permit_all().require_present(
    x509.SubjectAlternativeName, verification.Criticality.AGNOSTIC, None
)
_CA_POLICY = verification.ExtensionPolicy.webpki_defaults_ca()


def _roots(ca_file: str) -> list[x509.Certificate]:
    path = ca_file or ssl.get_default_verify_paths().cafile or ""
    try:
        return x509.load_pem_x509_certificates(Path(path).read_bytes())
    except (OSError, ValueError):
        return []


def trusted(chain: list[bytes], ca_file: str = "") -> bool:
    """True when ``chain`` (leaf first, DER) leads to a trusted root, names and dates aside."""
    roots = _roots(ca_file)
    if not chain or not roots:
        return False
    leaf, *rest = (x509.load_der_x509_certificate(der) for der in chain)
    names = [n for n in dns_names(leaf) if not n.startswith("*.")] or [
        f"probe.{n[2:]}" for n in dns_names(leaf)
    ]
    if not names:
        return False
    start, end, now = leaf.not_valid_before_utc, leaf.not_valid_after_utc, datetime.now(UTC)
    when = now if start <= now <= end else start + (end - start) / 2
    try:
        verifier = (
            verification.PolicyBuilder()
            .store(verification.Store(roots))
            .time(when)
            .extension_policies(ca_policy=_CA_POLICY, ee_policy=_EE_POLICY)
            .build_server_verifier(x509.DNSName(names[0]))
        )
        verifier.verify(leaf, rest)
    except (verification.VerificationError, ValueError):
        return False
    return True
