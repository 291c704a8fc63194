"""The reports found in inbound messages, their policies and failure details, and the
daily rollups every reader of the numbers uses.

Every row belongs to a tenant and is reached through a scoped manager.
"""

import gzip

from django.db import models
from django.utils import timezone

from accounts.managers import TenantScopedManager
from accounts.models import Tenant
from domains.models import Domain
from reports.inbound.models import InboundMessage


class Report(models.Model):
    """One RFC 8460 report; unique per tenant on (organization, report-id, date range).

    On PostgreSQL the table is partitioned by month of ``day``, as its policies and
    failure details are (reports.ingest.partitions): its primary key there is (id, day),
    ids stay unique through their sequence, and the keys pointing at it (policies'
    ``report``, messages' ``duplicate_of``) have no database constraint.
    """

    # No index of its own: ``report_tenant_day`` and the unique key start with it.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="reports", db_index=False
    )
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
    # A self-test's report (reports.selftest): stored and shown, counted nowhere (its
    # policies are not counted and it adds nothing to the rollups).
    is_test = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantScopedManager()

    class Meta:
        constraints = [
            # With the day, which follows from the start: a partitioned table's unique keys
            # must hold its partition key.
            models.UniqueConstraint(
                fields=["tenant", "organization", "report_id", "start", "end", "day"],
                name="report_unique_per_tenant",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "-day"], name="report_tenant_day"),
            # The retention purge's reports past the cut-off, every tenant's: without it, the
            # run that finds none left walked every report's id (2.8 s at 10 M reports).
            models.Index(fields=["day"], name="report_day"),
        ]

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
    # No database constraint: reports are partitioned by month on PostgreSQL, and a key
    # must name all of a partitioned table's primary key (id, day); before that, its
    # per-row check at commit probed every month's partition for each deleted report.
    # Policies are written only by ingest, in the transaction that creates their report,
    # and deleted with it (Django's cascade, the retention purge, or their month's drop).
    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, related_name="policies", db_constraint=False
    )
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
    # range (dashboards' drill-downs, the report list by domain). On PostgreSQL the table
    # is partitioned by month of it (reports.ingest.partitions): the primary key there is
    # (id, day), ids stay unique through their sequence.
    day = models.DateField()

    objects = TenantScopedManager()

    class Meta:
        indexes = [models.Index(fields=["domain", "-day", "-report"], name="policy_domain_day")]

    def __str__(self) -> str:
        return f"{self.policy_type} {self.policy_domain}"


class FailureDetail(models.Model):
    """One failure-details entry of a policy: the highest-volume table by far.

    Its foreign keys have no database constraint: a large report writes thousands of
    rows by COPY, and PostgreSQL's per-row constraint triggers doubled the cost of
    storing it. Rows are only ever written by ``reports.ingest.bulk`` in the transaction that
    creates their policy, and deletes cascade through Django (tested).

    On PostgreSQL the table is partitioned by month of ``day``, its policy's day, like
    ``PolicyResult`` (reports.ingest.partitions): retention drops whole months.
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
    day = models.DateField(help_text="Its policy's day: the partition key on PostgreSQL.")

    objects = TenantScopedManager()

    def __str__(self) -> str:
        return f"{self.result_type} x{self.failed_session_count}"


class DailyStat(models.Model):
    """Sessions per domain, UTC day, sending organization and policy type.

    ``successful``/``failed`` are what was reported under this policy type;
    ``counted_*`` is the share that counts toward the domain's totals, so that sessions
    reported under both tlsa and sts are counted once.
    """

    # No index of either key alone: ``dailystat_tenant_day`` starts with the tenant, the
    # unique key with the domain. A lone tenant index misled PostgreSQL: every query names
    # a domain (hence its tenant), yet it ANDed the tenant's whole bitmap into it.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="daily_stats", db_index=False
    )
    day = models.DateField()
    organization = models.CharField(max_length=255)
    policy_type = models.CharField(max_length=32)
    successful = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    counted_successful = models.BigIntegerField(default=0)
    counted_failed = models.BigIntegerField(default=0)
    reports = models.PositiveIntegerField(default=0)

    objects = TenantScopedManager()

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

    Sending IPs and reason codes are not in the key: with them the rollup would be nearly
    as large as the raw failure details; ``DailyBreakdown`` keeps each on its own.
    """

    # No index of either key alone, as DailyStat's: ``dailyfailure_overview`` starts with
    # the tenant, the unique key with the domain. With a lone tenant index, a domain's two
    # years of rows took 29 ms instead of 4 at 100 M failure details (PostgreSQL ANDed the
    # tenant's 1.5 M-row bitmap with the domain's 7,300 rows).
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="daily_failures", db_index=False
    )
    day = models.DateField()
    policy_type = models.CharField(max_length=32)
    result_type = models.CharField(max_length=64)
    receiving_mx = models.CharField(max_length=253, blank=True)
    organization = models.CharField(max_length=255)
    count = models.BigIntegerField(default=0)
    counted = models.BigIntegerField(default=0, help_text="Share counted in domain totals.")

    objects = TenantScopedManager()

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


class BreakdownKind(models.TextChoices):
    SENDING_IP = "ip", "Sending MTA IP"
    REASON = "reason", "Failure reason code"


class DailyBreakdown(models.Model):
    """Failed sessions per domain and UTC day by one more key: the sending MTA's IP, or
    the failure reason code (a detail without one is left out of that kind).

    The dashboard's two breakdowns that ``DailyFailure`` has not, read for any period from
    a few rows per domain and day instead of the raw failure details (which the
    retention purge removes, and which span every monthly partition of a long period).
    Kept for ever, as the other rollups; self-tests add nothing.

    Its foreign keys have no database constraint, as ``FailureDetail``'s: a large report
    adds a row per sending IP, thousands, and PostgreSQL's per-row constraint triggers at
    commit cost more than storing them. Rows are only written by ``reports.ingest.rollups``
    in the transaction that stores policies of the same domain (whose keys are checked),
    and deletes cascade through Django (tested): from the domain, which every row has and
    whose tenant is the row's. The tenant key has no index (the domain's cascade needs
    none, and a lone tenant index misleads PostgreSQL, as DailyFailure's did).
    """

    tenant = models.ForeignKey(
        Tenant, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    # No index of its own: the unique key starts with it.
    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    kind = models.CharField(max_length=8, choices=BreakdownKind.choices)
    day = models.DateField()
    value = models.CharField(max_length=255, blank=True)
    count = models.BigIntegerField(default=0)
    counted = models.BigIntegerField(default=0, help_text="Share counted in domain totals.")

    objects = TenantScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "kind", "day", "value"], name="dailybreakdown_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.domain_id} {self.day} {self.kind}={self.value} x{self.count}"
