"""A tenant's webhook endpoints and the deliveries of its events to them.

A delivery row is written in the transaction of the event it tells about, then sent once
that commits (at least once: a beat sweep queues again what is due and was not sent). Its
``payload`` is the event as documented (``reports.webhooks.events``); Slack and Teams
endpoints get it formatted for their channel when it is sent.
"""

from django.db import models
from django.utils import timezone

from accounts.managers import TenantScopedManager
from accounts.models import Tenant


class EndpointKind(models.TextChoices):
    GENERIC = "generic", "JSON (signed, Standard Webhooks)"
    SLACK = "slack", "Slack incoming webhook"
    TEAMS = "teams", "Microsoft Teams incoming webhook"


class WebhookEndpoint(models.Model):
    """Where a tenant's events are posted; the secret is stored encrypted (Fernet)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=EndpointKind.choices, default="generic")
    events = models.JSONField(default=list)  # event type names, see events.EVENT_TYPES
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    secret_encrypted = models.TextField()
    # During a rotation the previous secret still signs, until previous_secret_until.
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)  # first failure since a success
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantScopedManager()

    def __str__(self) -> str:
        return f"{self.kind} webhook {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint, with the outcome of its last attempt.

    ``next_attempt_at`` is when it is due (empty once it succeeded or failed for good);
    ``queued_at`` when a task was queued for it, so the sweep queues again only what was
    lost. ``message_id`` is the ``webhook-id`` header: the same on every attempt and resend,
    so a receiver can drop the repeats of at-least-once delivery.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=40)
    message_id = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)  # the first 1 KB of the answer
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    objects = TenantScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id} to {self.endpoint_id}"
