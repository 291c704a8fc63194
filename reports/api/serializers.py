"""The shapes the reports API answers with and accepts."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reports.dashboards.explanations import explain
from reports.dashboards.report_detail import ReportSessions, counted_sessions, report_sessions
from reports.models import FailureDetail, InboundMessage, PolicyResult, Report


class DayStatSerializer(serializers.Serializer):
    day = serializers.DateField()
    successful = serializers.IntegerField()
    failed = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True)


class FailureSerializer(serializers.ModelSerializer):
    class Meta:
        model = FailureDetail
        fields = ["result_type", "sending_mta_ip", "receiving_mx_hostname",
                  "receiving_mx_helo", "receiving_ip", "failed_session_count",
                  "failure_reason_code", "additional_information"]  # fmt: skip


class PolicySerializer(serializers.ModelSerializer):
    domain = serializers.IntegerField(source="domain_id", allow_null=True)
    failure_details = FailureSerializer(source="failures", many=True)

    class Meta:
        model = PolicyResult
        fields = ["policy_type", "policy_domain", "domain", "policy_strings", "mx_hosts",
                  "successful", "failed", "counted", "failure_details"]  # fmt: skip


class _ReportsSerializer(serializers.ListSerializer):
    """A page of reports, their counted sessions read in one query for the page."""

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        reports = list(data.all() if hasattr(data, "all") else data)
        child = self.child
        assert isinstance(child, ReportSerializer)
        child.page_sessions = counted_sessions(reports)
        return super().to_representation(reports)


_COUNTED_HELP = (
    "Sessions counted for the tenant's verified domains, as every other reader counts them; "
    "successful and failed also hold the report's policies for other domains, which count "
    "nowhere."
)


class ReportSerializer(serializers.ModelSerializer):
    # The counted sessions of a list's page, by report id (set by the list).
    page_sessions: dict[int, ReportSessions] | None = None
    counted_successful = serializers.SerializerMethodField(help_text=_COUNTED_HELP)
    counted_failed = serializers.SerializerMethodField(help_text=_COUNTED_HELP)

    class Meta:
        model = Report
        fields = ["id", "organization", "report_id", "start", "end", "day", "contact_info",
                  "successful", "failed", "counted_successful", "counted_failed",
                  "dkim_result", "dkim_domain", "tls_report_domain",
                  "tls_report_submitter"]  # fmt: skip
        list_serializer_class = _ReportsSerializer

    def get_counted_successful(self, report: Report) -> int:
        return self._sessions(report).successful

    def get_counted_failed(self, report: Report) -> int:
        return self._sessions(report).failed

    def _sessions(self, report: Report) -> ReportSessions:
        """A list's page was read at once; one report reads its prefetched policies."""
        if self.page_sessions is not None:
            return self.page_sessions.get(report.pk, ReportSessions())
        return report_sessions(report.policies.all())


class ReportDetailSerializer(ReportSerializer):
    policies = PolicySerializer(many=True)

    class Meta(ReportSerializer.Meta):
        fields = [*ReportSerializer.Meta.fields, "policies"]


class FlatFailureSerializer(serializers.Serializer):
    day = serializers.DateField(source="policy.day")
    report = serializers.IntegerField(source="policy.report_id")
    organization = serializers.CharField(source="policy.report.organization")
    domain = serializers.IntegerField(source="policy.domain_id", allow_null=True)
    policy_type = serializers.CharField(source="policy.policy_type")
    counted = serializers.BooleanField(source="policy.counted")
    result_type = serializers.CharField()
    sending_mta_ip = serializers.CharField()
    receiving_mx_hostname = serializers.CharField()
    receiving_ip = serializers.CharField()
    failed_session_count = serializers.IntegerField()
    failure_reason_code = serializers.CharField()
    additional_information = serializers.CharField()


class BreakdownSerializer(serializers.Serializer):
    key = serializers.CharField(allow_blank=True)
    failed = serializers.IntegerField()


class InboundSerializer(serializers.ModelSerializer):
    explanation = serializers.SerializerMethodField()
    reports = serializers.SerializerMethodField()
    duplicate_of = serializers.IntegerField(
        source="duplicate_of_id", allow_null=True, read_only=True,
        help_text="For a duplicate, the stored report it repeats; for a conflicting one, the "
        "stored report whose content differs (the one that counts).",
    )  # fmt: skip

    class Meta:
        model = InboundMessage
        fields = ["id", "channel", "received_at", "size", "filename", "status", "error_code",
                  "error_message", "explanation", "reports", "duplicate_of"]  # fmt: skip

    def get_explanation(self, message: InboundMessage) -> str:
        return explain(message.status, message.error_code)

    def get_reports(self, message: InboundMessage) -> list[int]:
        return [r.pk for r in message.reports.all()]


@extend_schema_field(OpenApiTypes.BINARY)
class ReportFileField(serializers.FileField):
    """A file part, not a URL: the schema says so without COMPONENT_SPLIT_REQUEST."""


class UploadSerializer(serializers.Serializer):
    file = ReportFileField(
        allow_empty_file=True,
        help_text="A .json, .json.gz, .zip or .eml report.",
        error_messages={"required": "Send the report as the field 'file'."},
    )
