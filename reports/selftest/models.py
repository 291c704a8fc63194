"""A self-test: one synthetic report sent to the tenant's own address, and how far it got.

The row is what makes the report a test: the ingest flags a report as a test only when its
organization and report-id carry the self-test marks *and* a row here holds that report-id
for the same tenant (``reports.selftest.recognise``).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.managers import TenantScopedManager
from accounts.models import Tenant
from domains.models import Domain


class DoorStatus(models.TextChoices):
    NOT_ASKED = "", "Not asked"
    PENDING = "pending", "Waiting for a worker"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class SelfTest(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    started_at = models.DateTimeField(default=timezone.now)
    report_id = models.CharField(max_length=64, unique=True)
    smtp_status = models.CharField(
        max_length=8, choices=DoorStatus.choices, default=DoorStatus.PENDING
    )
    smtp_error = models.TextField(blank=True)
    # SHA-256 of the bytes each door was given: the door stores exactly these, so the
    # ingest log's row is found before the report is processed.
    smtp_sha256 = models.CharField(max_length=64, blank=True)
    https_status = models.CharField(
        max_length=8, choices=DoorStatus.choices, default=DoorStatus.NOT_ASKED, blank=True
    )
    https_error = models.TextField(blank=True)
    https_sha256 = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedManager()

    def __str__(self) -> str:
        return self.report_id
