"""The record of weekly digests sent: one row per (tenant, person, week).

A row is claimed (inserted) before its email is sent, and the unique key makes a second
claim for the same week fail: that is what keeps a person from getting two digests for
one week, whatever the beat or the workers do.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.managers import TenantScopedManager
from accounts.models import Tenant


class DigestDelivery(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField(help_text="The Monday of the week the digest covers.")
    sent_at = models.DateTimeField(null=True, blank=True)  # empty while being sent
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user", "week_start"], name="digest_once_per_week"
            )
        ]
        verbose_name_plural = "digest deliveries"

    def __str__(self) -> str:
        return f"digest of {self.week_start} to {self.user_id} in {self.tenant_id}"
