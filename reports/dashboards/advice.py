"""Advice on each RFC 8460 result type: what it means and what to do, in plain words.

(What a DNS health check found is a ``domains.findings.Advice``: another idea.)
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Advice:
    title: str
    meaning: str
    fix: str


RESULT_TYPES = {
    "starttls-not-supported": Advice(
        "STARTTLS not offered",
        "The receiving MX did not offer STARTTLS, so the sender could not encrypt.",
        "Enable STARTTLS on every MX host (and check no middlebox strips it from EHLO).",
    ),
    "certificate-host-mismatch": Advice(
        "Certificate name mismatch",
        "The MX presented a certificate that does not name the MX host the sender used.",
        "Serve a certificate whose names include each MX host name in your MX records "
        "(and in the MTA-STS policy's mx lines).",
    ),
    "certificate-expired": Advice(
        "Certificate expired",
        "The MX presented an expired certificate.",
        "Renew the MX certificate and automate renewal; reload the mail server after.",
    ),
    "certificate-not-trusted": Advice(
        "Certificate not trusted",
        "The MX certificate does not chain to a public CA the sender trusts (self-signed, "
        "or an intermediate missing).",
        "Use a certificate from a public CA and serve the full chain, intermediates included.",
    ),
    "validation-failure": Advice(
        "Validation failure",
        "The sender could not validate the TLS session for a reason not covered by the "
        "other types; the failure-reason-code, when present, says more.",
        "Check the reason code and the MX's certificate chain, names and protocol support.",
    ),
    "tlsa-invalid": Advice(
        "TLSA record invalid",
        "The DANE TLSA record for the MX could not be used (malformed or unsupported).",
        "Publish TLSA records with usage 2 or 3 that match the served certificate or key.",
    ),
    "dnssec-invalid": Advice(
        "DNSSEC invalid",
        "The DNSSEC validation of the TLSA or MX records failed, so DANE could not apply.",
        "Fix the zone's DNSSEC chain (DS at the parent, valid signatures, unexpired RRSIGs).",
    ),
    "dane-required": Advice(
        "DANE required",
        "The sender requires DANE for this domain but could not use it.",
        "Publish valid, DNSSEC-signed TLSA records for each MX, or stop requiring DANE.",
    ),
    "sts-policy-fetch-error": Advice(
        "MTA-STS policy fetch failed",
        "The MTA-STS policy at https://mta-sts.<domain>/.well-known/mta-sts.txt could not "
        "be fetched.",
        "Check the web server for mta-sts.<domain>, its certificate, and that it answers "
        "200 over both IPv4 and IPv6 without redirects.",
    ),
    "sts-policy-invalid": Advice(
        "MTA-STS policy invalid",
        "The MTA-STS policy was fetched but is not valid (syntax, version, mode or max_age).",
        "Serve text/plain with version: STSv1, a mode, mx lines and a max_age (RFC 8461).",
    ),
    "sts-webpki-invalid": Advice(
        "MTA-STS web certificate invalid",
        "The HTTPS certificate of mta-sts.<domain> could not be validated.",
        "Serve a publicly trusted certificate naming mta-sts.<domain>, with its chain.",
    ),
}

UNKNOWN = Advice(
    "Other failure",
    "A result type this product does not know yet; it is shown as the sender wrote it.",
    "Look at the failure details' additional information and reason codes.",
)


def advice(result_type: str, domain: str = "<domain>") -> Advice:
    found = RESULT_TYPES.get(result_type, UNKNOWN)
    return Advice(
        found.title,
        found.meaning.replace("<domain>", domain),
        found.fix.replace("<domain>", domain),
    )


# failure-reason-code values senders use (corpus: Microsoft's MTA-STS fetch errors).
REASON_CODES = (
    (
        "bad https response code",
        "The MTA-STS web server answered the policy request with an HTTP error.",
        "Serve /.well-known/mta-sts.txt with status 200 at mta-sts.<domain>.",
    ),
    (
        "timeout",
        "The sender gave up waiting (for the policy fetch or the MX).",
        "Check that the host answers quickly over IPv4 and IPv6 and is not firewalled.",
    ),
    (
        "X509_V_ERR_CERT_HAS_EXPIRED",
        "OpenSSL's code for an expired certificate.",
        "Renew the certificate.",
    ),
)


def reason(code: str, domain: str = "<domain>") -> tuple[str, str] | None:
    """(meaning, fix) for a failure-reason-code, when it is one senders are known to use."""
    lowered = code.lower()
    for prefix, meaning, fix in REASON_CODES:
        if lowered.startswith(prefix.lower()):
            return meaning, fix.replace("<domain>", domain)
    return None
