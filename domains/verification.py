"""Checking, in DNS, that a tenant owns a domain and points its TLS-RPT record at us.

Ownership: a TXT record at ``_tlsrpt-verify.<domain>`` holding the domain's token. The
TLS-RPT record at ``_smtp._tls.<domain>`` is looked at too (by the DNS health check's
``check_tlsrpt``), to tell the tenant whether reports will reach them.
Only definitive answers change what is stored; a timeout or SERVFAIL is recorded as
such and the domain keeps its state.

An operator may vouch for a domain instead (``manage.py adddomain --verified``): it is
then verified without the record, the record is not looked up, and it stays verified
until an operator hands it back to the record (``adddomain --by-record``).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import User
from domains.checks import check_tlsrpt, tlsrpt_summary
from domains.dns import DnsTemporaryError, make_resolver, txt_records
from domains.events import domain_event_send
from domains.hosting.serving import served_refresh_on_commit
from domains.models import Domain, VerifiedBy
from domains.notices import unverified_notice_send
from tlsrpt_saas.queueing import task_queue_on_commit

# Queued by name (tlsrpt_saas.queueing): domains.tasks imports this module.
CHECK_DOMAIN_HEALTH = "domains.tasks.check_domain_health"


@dataclass(frozen=True)
class CheckResult:
    ok: bool | None  # None: no definitive answer
    message: str


OPERATOR_MESSAGE = "Verified by an operator: no ownership record is needed."


def ownership_check(domain: Domain) -> CheckResult:
    if domain.verified_by_operator:
        return CheckResult(True, OPERATOR_MESSAGE)
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
    """Whether ``_smtp._tls.<domain>`` sends reports to this tenant: the health check's."""
    return CheckResult(*tlsrpt_summary(check_tlsrpt(domain, make_resolver())))


def domain_check(*, domain: Domain, actor: User | None = None, tlsrpt: bool = True) -> CheckResult:
    """Run the ownership check (and the TLS-RPT one unless told not to) and store them.

    Verifies a pending domain on success. A verified domain whose record has been
    definitively gone for DOMAIN_UNVERIFY_AFTER_DAYS becomes unverified, once, and its
    admins are told; never one an operator verified (its check always passes).
    """
    result = ownership_check(domain)
    rua = tlsrpt_check(domain) if tlsrpt else CheckResult(None, "")
    with transaction.atomic():
        domain = Domain.objects.select_for_update().select_related("tenant").get(pk=domain.pk)
        now = timezone.now()
        domain.checked_at = now
        domain.check_message = result.message[:500]
        if rua.ok is not None:
            domain.tlsrpt_ok = rua.ok
            domain.tlsrpt_message = rua.message[:500]
        if result.ok is not None:
            domain.check_ok = result.ok
        if result.ok:
            domain.ownership_missing_since = None
            if domain.verified_at is None:
                _verified(domain, actor)
        elif result.ok is False and domain.verified_at is not None:
            _ownership_missing(domain, now)
        domain.save()
    return result


def _verified(domain: Domain, actor: User | None) -> None:
    domain.verified_at = domain.checked_at
    domain.verified_by = VerifiedBy.DNS
    audit_record(
        tenant=domain.tenant, actor=actor, action="domain.verified",
        summary=f"Verified ownership of {domain.name}",
    )  # fmt: skip
    task_queue_on_commit(CHECK_DOMAIN_HEALTH, domain.pk)
    served_refresh_on_commit(domain.name)
    domain_event_send(domain, "domain.verified")


def _ownership_missing(domain: Domain, now: datetime) -> None:
    missing_since = domain.ownership_missing_since or now
    domain.ownership_missing_since = missing_since
    if now - missing_since < timedelta(days=settings.DOMAIN_UNVERIFY_AFTER_DAYS):
        return
    domain.verified_at = None
    domain.verified_by = ""
    domain.ownership_missing_since = None
    audit_record(
        tenant=domain.tenant, actor=None, action="domain.unverified",
        summary=f"{domain.name} is no longer verified: its ownership record has been gone for "
        f"{settings.DOMAIN_UNVERIFY_AFTER_DAYS} days",
    )  # fmt: skip
    transaction.on_commit(lambda: unverified_notice_send(domain=domain))
    served_refresh_on_commit(domain.name)
    domain_event_send(domain, "domain.unverified")


def domain_operator_verify(*, domain: Domain, actor: User | None = None) -> bool:
    """Verify ``domain`` on an operator's word; False if an operator already had.

    It needs no ownership record from now on, and its health checks are queued.
    """
    with transaction.atomic():
        domain = Domain.objects.select_for_update().select_related("tenant").get(pk=domain.pk)
        if domain.verified_by_operator:
            return False
        domain.verified_at = domain.verified_at or timezone.now()
        domain.verified_by = VerifiedBy.OPERATOR
        domain.ownership_missing_since = None
        domain.check_ok = None
        domain.check_message = OPERATOR_MESSAGE
        domain.save()
        audit_record(
            tenant=domain.tenant, actor=actor, action="domain.verified",
            summary=f"Verified {domain.name} by an operator (no ownership record needed)",
        )  # fmt: skip
        task_queue_on_commit(CHECK_DOMAIN_HEALTH, domain.pk)
        served_refresh_on_commit(domain.name)
        domain_event_send(domain, "domain.verified")
    return True


def domain_operator_release(*, domain: Domain, actor: User | None = None) -> bool:
    """Hand an operator-verified domain back to its ownership record; False if it was not.

    It stays verified for now; from here on the record decides, as for any domain (gone
    for DOMAIN_UNVERIFY_AFTER_DAYS, the domain is unverified).
    """
    with transaction.atomic():
        domain = Domain.objects.select_for_update().select_related("tenant").get(pk=domain.pk)
        if not domain.verified_by_operator:
            return False
        domain.verified_by = VerifiedBy.DNS
        domain.check_ok = None
        domain.check_message = ""
        domain.save()
        audit_record(
            tenant=domain.tenant, actor=actor, action="domain.record_required",
            summary=f"{domain.name} is verified by its ownership record again, not an operator",
        )  # fmt: skip
    return True
