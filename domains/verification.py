"""Checking, in DNS, that a tenant owns a domain and points its TLS-RPT record at us.

Ownership: a TXT record at ``_tlsrpt-verify.<domain>`` holding the domain's token. The
TLS-RPT record at ``_smtp._tls.<domain>`` is looked at too, to tell the tenant whether
reports will reach them (the full RFC 8460 grammar check is the DNS health check's).
Only definitive answers change what is stored; a timeout or SERVFAIL is recorded as
such and the domain keeps its state.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import User
from domains.dns import DnsTemporaryError, txt_records
from domains.models import Domain


@dataclass(frozen=True)
class CheckResult:
    ok: bool | None  # None: no definitive answer
    message: str


def ownership_check(domain: Domain) -> CheckResult:
    try:
        records = txt_records(domain.verification_name)
    except DnsTemporaryError as e:
        return CheckResult(None, f"DNS gave no definitive answer; we will try again ({e}).")
    if not records:
        return CheckResult(False, f"No TXT record found at {domain.verification_name}.")
    if any(r.strip() == domain.verification_token for r in records):
        return CheckResult(True, "The ownership record is published.")
    return CheckResult(
        False,
        f"TXT records exist at {domain.verification_name}, but none holds this domain's token.",
    )


def tlsrpt_check(domain: Domain) -> CheckResult:
    tenant = domain.tenant
    try:
        records = txt_records(domain.tlsrpt_name)
    except DnsTemporaryError as e:
        return CheckResult(None, f"DNS gave no definitive answer ({e}).")
    valid = [r for r in records or () if r.startswith("v=TLSRPTv1")]
    if not valid:
        return CheckResult(False, f"No TLS-RPT record (v=TLSRPTv1) at {domain.tlsrpt_name}.")
    if len(valid) > 1:
        return CheckResult(False, "More than one TLS-RPT record: senders will ignore them all.")
    wanted = (f"mailto:{tenant.inbound_address}".lower(), tenant.https_rua_url.lower())
    record = valid[0].lower()
    if any(w in record for w in wanted):
        return CheckResult(True, "The TLS-RPT record sends reports to this tenant.")
    return CheckResult(False, "The TLS-RPT record's rua= does not include this tenant's address.")


def domain_check(*, domain: Domain, actor: User | None = None) -> CheckResult:
    """Run the ownership check and store its outcome; verifies the domain on success."""
    result = ownership_check(domain)
    tlsrpt = tlsrpt_check(domain)
    with transaction.atomic():
        domain = Domain.objects.select_for_update().select_related("tenant").get(pk=domain.pk)
        domain.checked_at = timezone.now()
        domain.check_message = result.message[:500]
        if tlsrpt.ok is not None:
            domain.tlsrpt_ok = tlsrpt.ok
            domain.tlsrpt_message = tlsrpt.message[:500]
        if result.ok is not None:
            domain.check_ok = result.ok
        if result.ok and domain.verified_at is None:
            domain.verified_at = domain.checked_at
            audit_record(
                tenant=domain.tenant, actor=actor, action="domain.verified",
                summary=f"Verified ownership of {domain.name}",
            )  # fmt: skip
        domain.save()
    return result
