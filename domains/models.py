"""A tenant's mail domains: the names reports are attributed to once verified."""

import secrets

from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from accounts.models import Tenant


def new_verification_token() -> str:
    return secrets.token_hex(16)


class Domain(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(max_length=253, help_text="Lowercase IDNA A-label, no trailing dot.")
    verification_token = models.CharField(max_length=64, default=new_verification_token)
    verified_at = models.DateTimeField(null=True, blank=True)
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

    objects = ScopedManager(tenant="tenant")

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
    def verification_name(self) -> str:
        """Where the ownership TXT record goes."""
        return f"_tlsrpt-verify.{self.name}"

    @property
    def tlsrpt_name(self) -> str:
        return f"_smtp._tls.{self.name}"

    @property
    def state(self) -> str:
        """pending (not verified yet), verified, or failing (verified, record now missing)."""
        if not self.is_verified:
            return "pending"
        return "failing" if self.check_ok is False else "verified"
