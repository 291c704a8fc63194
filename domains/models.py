"""A tenant's mail domains: the names reports are attributed to once verified."""

import secrets

from django.db import models
from django.utils import timezone

from accounts.managers import TenantScopedManager
from accounts.models import Tenant


def new_verification_token() -> str:
    return secrets.token_hex(16)


class VerifiedBy(models.TextChoices):
    """How a verified domain was verified: its ownership record, or an operator's word."""

    DNS = "dns", "Ownership record"
    OPERATOR = "operator", "An operator"


class Domain(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(max_length=253, help_text="Lowercase IDNA A-label, no trailing dot.")
    verification_token = models.CharField(max_length=64, default=new_verification_token)
    verified_at = models.DateTimeField(null=True, blank=True)
    # An operator's verification (``adddomain --verified``) does not depend on the
    # ownership record: it stays until an operator changes it. Empty while pending.
    verified_by = models.CharField(max_length=16, choices=VerifiedBy.choices, blank=True)
    # MX host names last seen for the domain; DANE (tlsa) results may name these.
    mx_hosts = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The last ownership check: when, whether the record was found, and what was seen.
    checked_at = models.DateTimeField(null=True, blank=True)
    check_ok = models.BooleanField(null=True)
    check_message = models.CharField(max_length=500, blank=True)
    # Whether _smtp._tls.<name> sends reports to this tenant, as last seen.
    tlsrpt_ok = models.BooleanField(null=True)
    tlsrpt_message = models.CharField(max_length=500, blank=True)
    # Since when the ownership record of a verified domain has been definitively gone;
    # after DOMAIN_UNVERIFY_AFTER_DAYS the domain stops counting reports.
    ownership_missing_since = models.DateTimeField(null=True, blank=True)
    health_checked_at = models.DateTimeField(null=True, blank=True)
    # An alert opens when a day's failure rate for this domain exceeds this percentage.
    failure_rate_threshold = models.FloatField(default=5.0)

    objects = TenantScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="domain_unique_tenant_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def verified_by_operator(self) -> bool:
        return self.is_verified and self.verified_by == VerifiedBy.OPERATOR

    @property
    def verification_name(self) -> str:
        """Where the ownership TXT record goes."""
        return f"_tlsrpt-verify.{self.name}"

    @property
    def tlsrpt_name(self) -> str:
        return f"_smtp._tls.{self.name}"

    @property
    def state(self) -> str:
        """pending (not verified yet), verified, or failing (verified, record now missing).

        A domain an operator verified needs no ownership record, so it never fails.
        """
        if not self.is_verified:
            return "pending"
        if self.verified_by == VerifiedBy.OPERATOR:
            return "verified"
        return "failing" if self.check_ok is False else "verified"


class CheckKind(models.TextChoices):
    TLSRPT = "tlsrpt", "TLS-RPT record"
    MTA_STS = "mta_sts", "MTA-STS"
    MX = "mx", "MX records"
    DANE = "dane", "DANE (TLSA)"
    MX_TLS = "mx_tls", "MX hosts' TLS (live)"


class CheckStatus(models.TextChoices):
    OK = "ok", "OK"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"
    UNKNOWN = "unknown", "No answer"


class DnsCheck(models.Model):
    """One run of one kind of health check for a domain, with what it found.

    Rows are kept as history: the latest definitive one (status not ``unknown``) is the
    domain's state for that kind, and ``changed`` marks the runs whose status differed
    from the previous definitive one (drawn on the dashboard's chart).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="checks")
    kind = models.CharField(max_length=16, choices=CheckKind.choices)
    status = models.CharField(max_length=16, choices=CheckStatus.choices)
    findings = models.JSONField(default=list)  # [Finding.as_dict(), ...]
    records = models.JSONField(default=dict)  # the raw records and responses seen, by name
    checked_at = models.DateTimeField(default=timezone.now)
    changed = models.BooleanField(default=False)
    previous_status = models.CharField(max_length=16, blank=True)

    objects = TenantScopedManager()

    class Meta:
        indexes = [models.Index(fields=["domain", "kind", "-checked_at"], name="dnscheck_latest")]

    def __str__(self) -> str:
        return f"{self.domain_id} {self.kind} {self.status}"


# Models of the domains app's feature packages, here so they keep the app label "domains".
from domains.hosting.models import HostedPolicy, HostedPolicyVersion  # noqa: E402, F401
from domains.probes.models import MxProbe  # noqa: E402, F401
