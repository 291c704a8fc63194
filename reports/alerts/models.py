"""Alerts: a condition on a domain someone should act on, open until it clears."""

from django.db import models
from django.utils import timezone

from accounts.managers import TenantScopedManager
from accounts.models import Tenant
from domains.models import Domain


class AlertKind(models.TextChoices):
    FAILURE_RATE = "failure_rate", "Failure rate over the threshold"
    FAILURE_SPIKE = "failure_spike", "Failures far above the usual"
    NEW_FAILURE_TYPE = "new_failure_type", "A new kind of failure"
    STS_UNREACHABLE = "sts_unreachable", "MTA-STS policy unreachable"
    STS_TESTING = "sts_testing", "MTA-STS left in testing mode"
    TLSRPT_RECORD = "tlsrpt_record", "TLS-RPT record missing or not pointing here"
    REPORTER_SILENT = "reporter_silent", "A reporter went silent"
    MX_CERTIFICATE = "mx_certificate", "An MX host's certificate expiring or broken"
    MX_TLSA_MISMATCH = "mx_tlsa_mismatch", "TLSA records not matching an MX certificate"


class Alert(models.Model):
    """A condition on a domain that someone should act on, open until it clears.

    At most one open alert per (domain, kind, key); ``key`` tells apart alerts of one
    kind (the result type, the reporter). Admins are emailed when it opens, at most once
    per cooldown for the same (domain, kind, key).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    key = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=255)
    message = models.TextField()
    fix = models.TextField(blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "kind", "key"],
                condition=models.Q(resolved_at__isnull=True),
                name="alert_one_open",
            )
        ]
        indexes = [models.Index(fields=["tenant", "resolved_at"], name="alert_tenant_open")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} on {self.domain_id}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
