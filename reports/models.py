"""Inbound messages, the reports found in them, and the daily rollups dashboards read.

Every row belongs to a tenant and is reached through a scoped manager: a query outside
``django_scopes.scope(tenant=...)`` raises instead of leaking another tenant's data.
"""

import gzip

from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from accounts.models import Tenant
from domains.models import Domain


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
    # Fernet token (reports.secrets); the password itself is never stored or shown.
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

    objects = ScopedManager(tenant="tenant")

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
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Set when queueing failed (broker down): the sweep queues it once the broker is back.
    queue_failed_at = models.DateTimeField(null=True, blank=True)
    # Who is processing it (reports.claims): a PostgreSQL backend pid, and since when.
    claimed_by = models.IntegerField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Where an IMAP message came from: stored once per (mailbox, uidvalidity, uid).
    mailbox = models.ForeignKey(
        MailboxSource, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_uid = models.BigIntegerField(null=True, blank=True)
    # The report a duplicate message repeats (the first one, if it carried several).
    duplicate_of = models.ForeignKey(
        "Report", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ScopedManager(tenant="tenant")

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


class Report(models.Model):
    """One RFC 8460 report; unique per tenant on (organization, report-id, date range)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="reports")
    inbound = models.ForeignKey(
        InboundMessage, on_delete=models.SET_NULL, null=True, related_name="reports"
    )
    organization = models.CharField(max_length=255)
    report_id = models.TextField()
    start = models.DateTimeField()
    end = models.DateTimeField()
    day = models.DateField(help_text="The UTC day of the start: the day the report counts for.")
    contact_info = models.TextField(blank=True)
    # The report's JSON exactly as sent, gzip-compressed (level 1): a large report's
    # JSON is hundreds of KB, and this is also what a .json.gz download serves.
    raw_json_gz = models.BinaryField()
    # Facts from the email that carried the report (RFC 8460 sections 3 and 5.3).
    tls_report_domain = models.CharField(max_length=253, blank=True)
    tls_report_submitter = models.CharField(max_length=253, blank=True)
    subject_report_id = models.TextField(blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    email_message_id = models.TextField(blank=True)
    dkim_result = models.CharField(max_length=12, blank=True)
    dkim_domain = models.CharField(max_length=253, blank=True)
    successful = models.BigIntegerField(help_text="Sessions, each counted once.")
    failed = models.BigIntegerField(help_text="Failed sessions, each counted once.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "organization", "report_id", "start", "end"],
                name="report_unique_per_tenant",
            )
        ]
        indexes = [models.Index(fields=["tenant", "-day"], name="report_tenant_day")]

    def __str__(self) -> str:
        return f"{self.organization} {self.report_id}"

    @property
    def raw_json(self) -> bytes:
        """The report's JSON as the sender sent it."""
        return gzip.decompress(bytes(self.raw_json_gz))


class PolicyType(models.TextChoices):
    STS = "sts", "MTA-STS"
    TLSA = "tlsa", "DANE (TLSA)"
    NO_POLICY = "no-policy-found", "No policy found"


class PolicyResult(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="policies")
    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, null=True, related_name="policy_results"
    )
    policy_type = models.CharField(max_length=32)
    policy_domain = models.CharField(max_length=253, blank=True)
    policy_strings = models.JSONField(default=list)
    mx_hosts = models.JSONField(default=list)
    successful = models.BigIntegerField()
    failed = models.BigIntegerField()
    # False when the same sessions are already counted under another policy type
    # (Microsoft reports one session under both tlsa and sts).
    counted = models.BooleanField(default=True)
    # The report's day, copied so that a domain's policies of a period are one index
    # range (dashboards' drill-downs, the report list by domain).
    day = models.DateField()

    objects = ScopedManager(tenant="tenant")

    class Meta:
        indexes = [models.Index(fields=["domain", "-day", "-report"], name="policy_domain_day")]

    def __str__(self) -> str:
        return f"{self.policy_type} {self.policy_domain}"


class FailureDetail(models.Model):
    """One failure-details entry of a policy: the highest-volume table by far.

    Its foreign keys have no database constraint: a large report writes thousands of
    rows by COPY, and PostgreSQL's per-row constraint triggers doubled the cost of
    storing it. Rows are only ever written by ``reports.bulk`` in the transaction that
    creates their policy, and deletes cascade through Django (tested).
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    policy = models.ForeignKey(
        PolicyResult, on_delete=models.CASCADE, related_name="failures", db_constraint=False
    )
    result_type = models.CharField(max_length=64)
    sending_mta_ip = models.CharField(max_length=64, blank=True)
    receiving_mx_hostname = models.CharField(max_length=253, blank=True)
    # Verbatim: Postfix puts its whole multi-line EHLO answer here, longer than any name.
    receiving_mx_helo = models.TextField(blank=True)
    receiving_ip = models.CharField(max_length=64, blank=True)
    failed_session_count = models.BigIntegerField()
    additional_information = models.TextField(blank=True)
    failure_reason_code = models.TextField(blank=True)

    objects = ScopedManager(tenant="tenant")

    def __str__(self) -> str:
        return f"{self.result_type} x{self.failed_session_count}"


class DailyStat(models.Model):
    """Sessions per domain, UTC day, sending organization and policy type.

    ``successful``/``failed`` are what was reported under this policy type;
    ``counted_*`` is the share that counts toward the domain's totals, so that sessions
    reported under both tlsa and sts are counted once.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="daily_stats")
    day = models.DateField()
    organization = models.CharField(max_length=255)
    policy_type = models.CharField(max_length=32)
    successful = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    counted_successful = models.BigIntegerField(default=0)
    counted_failed = models.BigIntegerField(default=0)
    reports = models.PositiveIntegerField(default=0)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "day", "organization", "policy_type"],
                name="dailystat_unique_key",
            )
        ]
        indexes = [models.Index(fields=["tenant", "day"], name="dailystat_tenant_day")]

    def __str__(self) -> str:
        return f"{self.domain_id} {self.day} {self.organization} {self.policy_type}"


class DailyFailure(models.Model):
    """Failed sessions per domain, UTC day, policy type, result type, MX and organization.

    Sending IPs are not in the key: with them the rollup would be as large as the raw
    failure details, which serve that drill-down.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="daily_failures")
    day = models.DateField()
    policy_type = models.CharField(max_length=32)
    result_type = models.CharField(max_length=64)
    receiving_mx = models.CharField(max_length=253, blank=True)
    organization = models.CharField(max_length=255)
    count = models.BigIntegerField(default=0)
    counted = models.BigIntegerField(default=0, help_text="Share counted in domain totals.")

    objects = ScopedManager(tenant="tenant")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "domain",
                    "day",
                    "policy_type",
                    "result_type",
                    "receiving_mx",
                    "organization",
                ],
                name="dailyfailure_unique_key",
            )
        ]
        indexes = [
            # Covers the overview's "top finding per domain": an index-only scan.
            models.Index(
                fields=["tenant", "day", "domain", "result_type", "counted"],
                name="dailyfailure_overview",
            )
        ]

    def __str__(self) -> str:
        return f"{self.domain_id} {self.day} {self.result_type} x{self.count}"


class AlertKind(models.TextChoices):
    FAILURE_RATE = "failure_rate", "Failure rate over the threshold"
    FAILURE_SPIKE = "failure_spike", "Failures far above the usual"
    NEW_FAILURE_TYPE = "new_failure_type", "A new kind of failure"
    STS_UNREACHABLE = "sts_unreachable", "MTA-STS policy unreachable"
    STS_TESTING = "sts_testing", "MTA-STS left in testing mode"
    TLSRPT_RECORD = "tlsrpt_record", "TLS-RPT record missing or not pointing here"
    REPORTER_SILENT = "reporter_silent", "A reporter went silent"


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

    objects = ScopedManager(tenant="tenant")

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


from reports.digest_models import DigestDelivery  # noqa: E402,F401
