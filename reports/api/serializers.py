"""The shapes the reports API answers with and accepts."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reports.dashboards.explanations import explain
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


class ReportSerializer(serializers.ModelSerializer):
    class Meta:
        model = Report
        fields = ["id", "organization", "report_id", "start", "end", "day", "contact_info",
                  "successful", "failed", "dkim_result", "dkim_domain", "tls_report_domain",
                  "tls_report_submitter"]  # fmt: skip


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
