"""Inbound messages as they arrived, by any door, the IMAP mailboxes polled for them, and
the mail a door refused because a limit was reached.

Every row belongs to a tenant and is reached through a scoped manager.
"""

from django.db import models
from django.utils import timezone

from accounts.managers import TenantScopedManager
from accounts.models import Tenant


class Channel(models.TextChoices):
    SMTP = "smtp", "SMTP"
    IMAP = "imap", "IMAP mailbox"
    HTTPS = "https", "HTTPS POST"
    UPLOAD = "upload", "Upload"
    CLI = "cli", "Command line"


class Status(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    DUPLICATE = "duplicate", "Duplicate"
    # A report repeating a stored one's key with other content; the first stays.
    DUPLICATE_CONFLICTING = "duplicate_conflicting", "Duplicate, conflicting"
    UNATTRIBUTED = "unattributed", "Unattributed"
    FAILED = "failed", "Failed"


class TlsMode(models.TextChoices):
    SSL = "ssl", "TLS (IMAPS, usually port 993)"
    STARTTLS = "starttls", "STARTTLS (usually port 143)"
    NONE = "none", "None (plain text; only on a trusted network)"


class MailboxSource(models.Model):
    """A tenant's own IMAP mailbox that receives TLS reports, polled by the workers."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="mailboxes")
    name = models.CharField(max_length=100)
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField(default=993)
    tls_mode = models.CharField(max_length=10, choices=TlsMode.choices, default=TlsMode.SSL)
    username = models.CharField(max_length=255)
    # Fernet token (reports.inbound.secrets); the password itself is never stored or shown.
    password_encrypted = models.TextField()
    folder = models.CharField(max_length=255, default="INBOX")
    processed_folder = models.CharField(
        max_length=255, blank=True, default="TLSRPT/Processed",
        help_text="Where processed mail is moved; empty: it is flagged and left in place.",
    )  # fmt: skip
    active = models.BooleanField(default=True)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    # A poll holds the mailbox until this time, so two workers never poll it at once.
    polling_until = models.DateTimeField(null=True, blank=True)
    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantScopedManager()

    def __str__(self) -> str:
        return f"{self.username}@{self.host}/{self.folder}"


class MailboxFailure(models.Model):
    """A message of a mailbox that could not be taken; quarantined after a few tries."""

    mailbox = models.ForeignKey(MailboxSource, on_delete=models.CASCADE, related_name="failures")
    uidvalidity = models.BigIntegerField()
    uid = models.BigIntegerField()
    attempts = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500)
    quarantined_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "uidvalidity", "uid"], name="mailbox_failure_unique_uid"
            )
        ]

    def __str__(self) -> str:
        return f"UID {self.uid} of {self.mailbox}: {self.error}"


class InboundMessage(models.Model):
    """Raw bytes as they arrived, stored and committed before the sender is acknowledged."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="inbound_messages")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    raw = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    filename = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.RECEIVED)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Set when queueing failed (broker down): the sweep queues it once the broker is back.
    queue_failed_at = models.DateTimeField(null=True, blank=True)
    # Who is processing it (reports.ingest.claims): a PostgreSQL backend pid, and since when.
    claimed_by = models.IntegerField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Where an IMAP message came from: stored once per (mailbox, uidvalidity, uid).
    mailbox = models.ForeignKey(
        MailboxSource, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_uid = models.BigIntegerField(null=True, blank=True)
    # The report a duplicate message repeats (the first one, if it carried several). No
    # database constraint: reports are partitioned by month on PostgreSQL, and a key must
    # name all of a partitioned table's primary key; the retention purge clears it.
    duplicate_of = models.ForeignKey(
        "Report", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_constraint=False,
    )  # fmt: skip

    objects = TenantScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-received_at"], name="inbound_tenant_received"),
            models.Index(fields=["status", "received_at"], name="inbound_status_received"),
            models.Index(fields=["tenant", "sha256"], name="inbound_tenant_sha256"),
            # The waiting messages, oldest first: what processing claims from.
            models.Index(
                fields=["id"], condition=models.Q(status="received"), name="inbound_waiting"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "imap_uidvalidity", "imap_uid"],
                condition=models.Q(mailbox__isnull=False),
                name="inbound_unique_mailbox_uid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} message {self.pk} ({self.status})"


class Limit(models.TextChoices):
    """A limit that made a door refuse mail for a tenant (reports.inbound.quotas)."""

    DAILY_MESSAGES = "daily_messages", "Daily message quota"
    DAILY_BYTES = "daily_bytes", "Daily byte quota"
    SENDER_RATE = "sender_rate", "Messages per sending address"
    RECIPIENTS = "recipients", "Recipients per message"
    HTTPS_RATE = "https_rate", "Reports per minute"


class InboundRefusal(models.Model):
    """Mail a door refused for a tenant because a limit was reached, counted per UTC day,
    door and limit: one row each however much is refused, so the record stays bounded."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="inbound_refusals")
    day = models.DateField()
    channel = models.CharField(max_length=10, choices=Channel.choices)
    limit = models.CharField(max_length=20, choices=Limit.choices)
    count = models.PositiveIntegerField(default=0)
    # Bytes refused, where the door had them (SMTP refuses most before the message comes).
    size = models.PositiveBigIntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    # The client's address (IP) the last refusal went to.
    last_sender = models.CharField(max_length=45, blank=True)

    objects = TenantScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "channel", "limit"], name="inbound_refusal_unique_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.count} refused by {self.channel} on {self.day} ({self.limit})"
