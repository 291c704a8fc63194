"""REST API of the reports app: the daily stats, from the same selectors as the pages."""

from datetime import date

import django_filters
from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FileUploadParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_auth import TenantAPIView
from accounts.api_schema import ErrorSerializer
from accounts.models import Role
from domains.models import Domain
from reports import selectors
from reports.explanations import explain
from reports.inbound.store import inbound_store
from reports.ingest import message_reprocess
from reports.models import Channel, FailureDetail, InboundMessage, PolicyResult, Report


class DayStatSerializer(serializers.Serializer):
    day = serializers.DateField()
    successful = serializers.IntegerField()
    failed = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True)


def _period(request: Request) -> selectors.Period:
    errors = {}
    values = {}
    for name in ("from", "to"):
        raw = request.query_params.get(name)
        if raw:
            try:
                values[name] = date.fromisoformat(raw)
            except ValueError:
                errors[name] = ["Give a date as YYYY-MM-DD."]
    if errors:
        raise serializers.ValidationError(errors)
    default = selectors.Period.last(30, request.tenant.time_zone)
    period = selectors.Period(values.get("from", default.start), values.get("to", default.end))
    if period.end < period.start or period.days > 731:
        raise serializers.ValidationError({"from": ["The range must be 1 to 731 days."]})
    return period


class StatsDailyView(TenantAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("domain", OpenApiTypes.INT, description="A domain id; all if absent."),
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day (30 days ago)."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (default: today)."),
        ],
        responses=DayStatSerializer(many=True),
        summary="Sessions per day: sessions under both tlsa and sts count once",
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        period = _period(request)
        domains = Domain.objects.filter(tenant=request.tenant)
        raw = request.query_params.get("domain")
        if raw is not None:
            if not raw.isdigit():
                raise serializers.ValidationError({"domain": ["Give a domain id."]})
            domains = domains.filter(pk=int(raw))
            if not domains.exists():
                from django.http import Http404

                raise Http404("No such domain.")
        series = selectors.daily_series_for(list(domains), period)
        rows = [
            {"day": p.day, "successful": p.totals.successful, "failed": p.totals.failed,
             "success_rate": p.totals.success_rate}
            for p in series
        ]  # fmt: skip
        return Response(DayStatSerializer(rows, many=True).data)


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


class ReportFilter(django_filters.FilterSet):
    domain = django_filters.NumberFilter(method="by_domain", help_text="A domain id.")
    organization = django_filters.CharFilter()
    start = django_filters.DateFilter(field_name="day", lookup_expr="gte", label="from")
    end = django_filters.DateFilter(field_name="day", lookup_expr="lte", label="to")
    policy_type = django_filters.CharFilter(method="by_policy_type")
    result_type = django_filters.CharFilter(method="by_result_type")
    has_failures = django_filters.BooleanFilter(method="by_failures")

    class Meta:
        model = Report
        fields = ["domain", "organization", "start", "end", "policy_type", "result_type",
                  "has_failures"]  # fmt: skip

    def by_domain(self, queryset, name: str, value: int):
        # EXISTS lets PostgreSQL walk the reports newest first and stop at the page's end,
        # probing each one's policies, instead of collecting all the domain's policies.
        policies = PolicyResult.objects.filter(report=OuterRef("pk"), domain_id=value)
        return queryset.filter(Exists(policies))

    def by_policy_type(self, queryset, name: str, value: str):
        return queryset.filter(
            pk__in=PolicyResult.objects.filter(policy_type=value).values("report_id")
        )

    def by_result_type(self, queryset, name: str, value: str):
        policies = PolicyResult.objects.filter(failures__result_type=value)
        return queryset.filter(pk__in=policies.values("report_id"))

    def by_failures(self, queryset, name: str, value: bool):
        return queryset.filter(failed__gt=0) if value else queryset.filter(failed=0)


class ReportCursor(CursorPagination):
    ordering = ("-day", "-id")
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"


class ReportListView(TenantAPIView, generics.ListAPIView):
    serializer_class = ReportSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ReportFilter
    pagination_class = ReportCursor

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no tenant
            return Report.objects.none()
        return Report.objects.filter(tenant=self.request.tenant).defer("raw_json_gz")

    @extend_schema(summary="Reports, newest first, filtered; cursor pagination")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class ReportDetailView(TenantAPIView, generics.RetrieveAPIView):
    serializer_class = ReportDetailSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no tenant
            return Report.objects.none()
        return (
            Report.objects.filter(tenant=self.request.tenant)
            .defer("raw_json_gz")
            .prefetch_related("policies__failures")
        )

    @extend_schema(summary="One report with its policies and failure details")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class ReportRawView(TenantAPIView):
    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT},
                   summary="The report's JSON exactly as the sender sent it")  # fmt: skip
    def get(self, request: Request, pk: int) -> HttpResponse:
        report = get_object_or_404(Report, pk=pk, tenant=request.tenant)
        return HttpResponse(report.raw_json, content_type="application/json")


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


class FailureFilter(django_filters.FilterSet):
    domain = django_filters.NumberFilter(field_name="policy__domain_id")
    start = django_filters.DateFilter(field_name="policy__day", lookup_expr="gte")
    end = django_filters.DateFilter(field_name="policy__day", lookup_expr="lte")
    result_type = django_filters.CharFilter()
    organization = django_filters.CharFilter(field_name="policy__report__organization")

    class Meta:
        model = FailureDetail
        fields = ["domain", "start", "end", "result_type", "organization"]


class FailureCursor(CursorPagination):
    ordering = ("-id",)
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"


class FailureListView(TenantAPIView, generics.ListAPIView):
    serializer_class = FlatFailureSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = FailureFilter
    pagination_class = FailureCursor

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no tenant
            return FailureDetail.objects.none()
        return (
            FailureDetail.objects.filter(tenant=self.request.tenant)
            .select_related("policy__report")
            .defer("policy__report__raw_json_gz")
        )

    @extend_schema(summary="Failure details, one row each, for export")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class BreakdownSerializer(serializers.Serializer):
    key = serializers.CharField(allow_blank=True)
    failed = serializers.IntegerField()


BREAKDOWN_KEYS = [*selectors.BREAKDOWNS, "sending_ip"]


class StatsBreakdownView(TenantAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("by", OpenApiTypes.STR, enum=BREAKDOWN_KEYS, required=True),
            OpenApiParameter("domain", OpenApiTypes.INT, required=True),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
        ],
        responses=BreakdownSerializer(many=True),
        summary="Failed sessions of a domain by result type, MX, organization or sending IP",
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        by = request.query_params.get("by", "")
        if by not in BREAKDOWN_KEYS:
            raise serializers.ValidationError({"by": [f"One of {', '.join(BREAKDOWN_KEYS)}."]})
        raw = request.query_params.get("domain", "")
        if not raw.isdigit():
            raise serializers.ValidationError({"domain": ["Give a domain id."]})
        domain = get_object_or_404(Domain, pk=int(raw), tenant=request.tenant)
        period = _period(request)
        rows = (
            selectors.failures_by_sending_ip(domain, period)
            if by == "sending_ip"
            else selectors.failures_by(domain, period, by)
        )
        return Response(
            BreakdownSerializer([{"key": k, "failed": n} for k, n in rows], many=True).data
        )


class InboundSerializer(serializers.ModelSerializer):
    explanation = serializers.SerializerMethodField()
    reports = serializers.SerializerMethodField()

    class Meta:
        model = InboundMessage
        fields = ["id", "channel", "received_at", "size", "filename", "status", "error_code",
                  "error_message", "explanation", "reports"]  # fmt: skip

    def get_explanation(self, message: InboundMessage) -> str:
        return explain(message.status, message.error_code)

    def get_reports(self, message: InboundMessage) -> list[int]:
        return [r.pk for r in message.reports.all()]


class InboundCursor(CursorPagination):
    ordering = ("-received_at", "-id")
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"


class InboundListView(TenantAPIView, generics.ListAPIView):
    serializer_class = InboundSerializer
    pagination_class = InboundCursor

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no tenant
            return InboundMessage.objects.none()
        return (
            InboundMessage.objects.filter(tenant=self.request.tenant)
            .defer("raw")
            .prefetch_related(Prefetch("reports", queryset=Report.objects.only("id", "inbound")))
        )

    @extend_schema(summary="The ingest log: every message received, with its outcome")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class InboundDetailView(TenantAPIView):
    @extend_schema(responses=InboundSerializer, summary="One inbound message and its outcome")
    def get(self, request: Request, pk: int) -> Response:
        message = get_object_or_404(
            InboundMessage.objects.defer("raw"), pk=pk, tenant=request.tenant
        )
        return Response(InboundSerializer(message).data)


class InboundReprocessView(TenantAPIView):
    write_role = Role.MEMBER

    @extend_schema(
        request=None,
        responses={200: InboundSerializer, 400: OpenApiResponse(
            ErrorSerializer, "The message is neither failed nor unattributed."
        )},
        summary="Queue a failed or unattributed message again (write key)",
    )  # fmt: skip
    def post(self, request: Request, pk: int) -> Response:
        message = get_object_or_404(
            InboundMessage.objects.defer("raw"), pk=pk, tenant=request.tenant
        )
        if not message_reprocess(message=message):
            raise serializers.ValidationError(
                {"status": ["Only failed or unattributed messages can be reprocessed."]}
            )
        message.refresh_from_db()
        return Response(InboundSerializer(message).data)


@extend_schema_field(OpenApiTypes.BINARY)
class ReportFileField(serializers.FileField):
    """A file part, not a URL: the schema says so without COMPONENT_SPLIT_REQUEST."""


class UploadSerializer(serializers.Serializer):
    file = ReportFileField(
        allow_empty_file=True,
        help_text="A .json, .json.gz, .zip or .eml report.",
        error_messages={"required": "Send the report as the field 'file'."},
    )


class InboundUploadView(TenantAPIView):
    write_role = Role.MEMBER
    parser_classes = [MultiPartParser, FileUploadParser]

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={201: InboundSerializer},
        summary="Upload a report (multipart field 'file'); poll inbound/{id} for the outcome",
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > settings.TLSRPT_MAX_MESSAGE_BYTES:
            raise serializers.ValidationError({"file": ["The file is too large."]})
        message = inbound_store(
            tenant=request.tenant, channel=Channel.UPLOAD, raw=upload.read(),
            filename=upload.name or "",
        )  # fmt: skip
        message.refresh_from_db()  # processed already when the worker was quick (or eager)
        return Response(InboundSerializer(message).data, status=201)
