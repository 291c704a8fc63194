"""A domain's hosted MTA-STS policy and its versions (gathered in ``domains.models``)."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.managers import TenantScopedManager
from accounts.models import Tenant


class StsMode(models.TextChoices):
    NONE = "none", "none: MTA-STS withdrawn"
    TESTING = "testing", "testing: report failures, still deliver"
    ENFORCE = "enforce", "enforce: refuse to deliver without valid TLS"


class TxtMode(models.TextChoices):
    """Who publishes the ``_mta-sts`` TXT record holding the policy id."""

    CUSTOMER = "customer", "The customer publishes it"
    HOSTED = "hosted", "Our DNS server answers it"


def dns_label_new() -> str:
    """A random label naming a domain's TXT record in our DNS zone (see ``dns_zone``)."""
    return secrets.token_hex(10)


class ChangeSource(models.TextChoices):
    MANUAL = "manual", "A person, on the page"
    API = "api", "The API"
    AUTO = "auto", "The product"


class HostedPolicy(models.Model):
    """The current hosted policy of one domain; every change also leaves a version."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    domain = models.OneToOneField(
        "domains.Domain", on_delete=models.CASCADE, related_name="hosted_policy"
    )
    enabled = models.BooleanField(default=False)
    mode = models.CharField(max_length=16, choices=StsMode.choices, default=StsMode.TESTING)
    mx = models.JSONField(default=list)  # patterns, in the order served
    max_age = models.PositiveIntegerField(default=86400)
    # RFC 8461 §3.1: what the _mta-sts TXT record must name for senders to refetch.
    policy_id = models.CharField(max_length=32, blank=True)
    txt_mode = models.CharField(max_length=16, choices=TxtMode.choices, default=TxtMode.CUSTOMER)
    # txt_mode hosted: our DNS server answers <dns_label>.<HOSTED_DNS_ZONE> with the id.
    dns_label = models.CharField(max_length=20, unique=True, default=dns_label_new, editable=False)
    # Opt-in automation (stored now; the loop that acts on them comes later).
    auto_promote = models.BooleanField(default=False)
    auto_rollback = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = TenantScopedManager()

    def __str__(self) -> str:
        return f"{self.domain_id} {self.mode} {self.policy_id}"


class HostedPolicyVersion(models.Model):
    """One change of a hosted policy: what it became, who changed it and how."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    hosted_policy = models.ForeignKey(
        HostedPolicy, on_delete=models.CASCADE, related_name="versions"
    )
    policy_id = models.CharField(max_length=32)
    enabled = models.BooleanField()
    mode = models.CharField(max_length=16, choices=StsMode.choices)
    mx = models.JSONField(default=list)
    max_age = models.PositiveIntegerField()
    txt_mode = models.CharField(max_length=16, choices=TxtMode.choices)
    auto_promote = models.BooleanField(default=False)
    auto_rollback = models.BooleanField(default=False)
    changed_at = models.DateTimeField(default=timezone.now)
    # Null for the product's own changes (source auto), or once the person is deleted.
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    changed_by_email = models.CharField(max_length=254, blank=True)
    source = models.CharField(max_length=16, choices=ChangeSource.choices)
    summary = models.CharField(max_length=500)  # what changed, in words

    objects = TenantScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["hosted_policy", "-changed_at"], name="hostedversion_latest")
        ]

    def __str__(self) -> str:
        return f"{self.policy_id} {self.summary}"
