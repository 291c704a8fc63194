"""REST API of the reports app: the daily stats, from the same selectors as the pages."""

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FileUploadParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_auth import TenantAPIRequest, TenantAPIView
from accounts.api_schema import ErrorSerializer
from accounts.models import Role
from domains.models import Domain
from reports.dashboards import selectors
from reports.dashboards.explanations import explain
from reports.dashboards.periods import period_parse
from reports.dashboards.report_filters import (
    ReportFilters,
    failure_details_matching,
    report_filters_parse,
    reports_matching,
)
from reports.inbound.store import inbound_store
from reports.ingest.messages import message_reprocess
from reports.models import Channel, FailureDetail, InboundMessage, PolicyResult, Report


class DayStatSerializer(serializers.Serializer):
    day = serializers.DateField()
    successful = serializers.IntegerField()
    failed = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True)


API_MAX_DAYS = 731  # the API's stats hold a row per day: at most two years in one response
# Spellings of the period the API once read (the reports' and failures' filters): refused
# with a 400 naming the right one, never ignored.
OLD_SPELLINGS = {"start": "from", "end": "to"}


def _refuse_old_spellings(request: Request) -> None:
    used = {
        old: [f"Not a parameter: the period is 'from' and 'to'; use '{new}' (YYYY-MM-DD)."]
        for old, new in OLD_SPELLINGS.items()
        if old in request.query_params
    }
    if used:
        raise serializers.ValidationError(used)


def _period(request: TenantAPIRequest) -> selectors.Period:
    """``from`` and ``to`` read as the pages read them, each end with its default."""
    _refuse_old_spellings(request)
    params = {k: request.query_params[k] for k in ("from", "to") if k in request.query_params}
    choice = period_parse(params=params, time_zone=request.tenant.time_zone, defaults_per_end=True)
    if choice.error:
        raise serializers.ValidationError({choice.field: [choice.error]})
    if choice.period.days > API_MAX_DAYS:
        raise serializers.ValidationError(
            {"from": [f"The range must be 1 to {API_MAX_DAYS} days."]}
        )
    return choice.period


FROM_TO = [
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        description=(
            "First day (default: 30 days before `to`). The range holds at most "
            f"{API_MAX_DAYS} days. The old spelling `start` is refused (400)."
        ),
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.DATE,
        description=(
            "Last day (default: today in the tenant's time zone). The old spelling `end` is "
            "refused (400)."
        ),
    ),
]


class StatsDailyView(TenantAPIView):
    def tenant_queryset(self) -> QuerySet[Domain]:
        return Domain.objects.all()

    @extend_schema(
        parameters=[
            OpenApiParameter("domain", OpenApiTypes.INT, description="A domain id; all if absent."),
            *FROM_TO,
        ],
        responses=DayStatSerializer(many=True),
        summary="Sessions per day: sessions under both tlsa and sts count once",
    )  # fmt: skip
    def get(self, request: TenantAPIRequest) -> Response:
        period = _period(request)
        domains = self.get_queryset()
        raw = request.query_params.get("domain")
        if raw is not None:
            if not raw.isdigit():
                raise serializers.ValidationError({"domain": ["Give a domain id."]})
            domains = domains.filter(pk=int(raw))
            if not domains.exists():
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


def _filters(request: Request) -> ReportFilters:
    """The report filters of the query string, the page's meaning; a 400 naming bad ones."""
    _refuse_old_spellings(request)
    filters, errors = report_filters_parse(request.query_params)
    if errors:
        raise serializers.ValidationError({name: [e] for name, e in errors.items()})
    return filters


REPORT_FILTERS = [
    OpenApiParameter(
        "domain",
        OpenApiTypes.INT,
        description=(
            "A domain id: reports with a policy of that domain. With `policy_type`, "
            "`result_type` or `has_failures` they hold for that domain's policies."
        ),
    ),
    OpenApiParameter("organization", OpenApiTypes.STR, description="The sending organization."),
    OpenApiParameter("policy_type", OpenApiTypes.STR, description="sts, tlsa or no-policy-found."),
    OpenApiParameter(
        "result_type",
        OpenApiTypes.STR,
        description=("Reports with failures of this type (on the chosen domain, if any)."),
    ),
    OpenApiParameter(
        "has_failures",
        OpenApiTypes.BOOL,
        description=(
            "With (true) or without (false) failed sessions: the chosen domain's or policy "
            "type's, otherwise the report's."
        ),
    ),
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        description=("First report day. The old spelling `start` is refused (400)."),
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.DATE,
        description=("Last report day. The old spelling `end` is refused (400)."),
    ),
]


class ReportCursor(CursorPagination):
    ordering = ("-day", "-id")
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"


@extend_schema_view(
    get=extend_schema(
        parameters=REPORT_FILTERS,
        summary="Reports, newest first, filtered as the reports page filters; cursor pagination",
    )
)
class ReportListView(TenantAPIView, generics.ListAPIView):
    serializer_class = ReportSerializer
    pagination_class = ReportCursor

    def tenant_queryset(self) -> QuerySet[Report]:
        return reports_matching(_filters(self.request))


@extend_schema_view(get=extend_schema(summary="One report with its policies and failure details"))
class ReportDetailView(TenantAPIView, generics.RetrieveAPIView):
    serializer_class = ReportDetailSerializer

    def tenant_queryset(self) -> QuerySet[Report]:
        return Report.objects.defer("raw_json_gz").prefetch_related("policies__failures")


class ReportRawView(TenantAPIView):
    def tenant_queryset(self) -> QuerySet[Report]:
        return Report.objects.all()

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT},
                   summary="The report's JSON exactly as the sender sent it")  # fmt: skip
    def get(self, request: TenantAPIRequest, pk: int) -> HttpResponse:
        report: Report = get_object_or_404(self.get_queryset(), pk=pk)
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


FAILURE_FILTERS = [
    OpenApiParameter("domain", OpenApiTypes.INT, description="A domain id."),
    OpenApiParameter("organization", OpenApiTypes.STR, description="The sending organization."),
    OpenApiParameter("result_type", OpenApiTypes.STR),
    *REPORT_FILTERS[-2:],
]


class FailureCursor(CursorPagination):
    ordering = ("-id",)
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"


@extend_schema_view(
    get=extend_schema(
        parameters=FAILURE_FILTERS, summary="Failure details, one row each, for export"
    )
)
class FailureListView(TenantAPIView, generics.ListAPIView):
    serializer_class = FlatFailureSerializer
    pagination_class = FailureCursor

    def tenant_queryset(self) -> QuerySet[FailureDetail]:
        f = _filters(self.request)
        return failure_details_matching(
            domain=f.domain, organization=f.organization, result_type=f.result_type,
            start=f.start, end=f.end,
        )  # fmt: skip


class BreakdownSerializer(serializers.Serializer):
    key = serializers.CharField(allow_blank=True)
    failed = serializers.IntegerField()


BREAKDOWN_KEYS = [*selectors.BREAKDOWNS, "sending_ip"]


class StatsBreakdownView(TenantAPIView):
    def tenant_queryset(self) -> QuerySet[Domain]:
        return Domain.objects.all()

    @extend_schema(
        parameters=[
            OpenApiParameter("by", OpenApiTypes.STR, enum=BREAKDOWN_KEYS, required=True),
            OpenApiParameter("domain", OpenApiTypes.INT, required=True),
            *FROM_TO,
        ],
        responses=BreakdownSerializer(many=True),
        summary="Failed sessions of a domain by result type, MX, organization or sending IP",
    )  # fmt: skip
    def get(self, request: TenantAPIRequest) -> Response:
        by = request.query_params.get("by", "")
        if by not in BREAKDOWN_KEYS:
            raise serializers.ValidationError({"by": [f"One of {', '.join(BREAKDOWN_KEYS)}."]})
        raw = request.query_params.get("domain", "")
        if not raw.isdigit():
            raise serializers.ValidationError({"domain": ["Give a domain id."]})
        domain: Domain = get_object_or_404(self.get_queryset(), pk=int(raw))
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


@extend_schema_view(
    get=extend_schema(summary="The ingest log: every message received, with its outcome")
)
class InboundListView(TenantAPIView, generics.ListAPIView):
    serializer_class = InboundSerializer
    pagination_class = InboundCursor

    def tenant_queryset(self) -> QuerySet[InboundMessage]:
        return InboundMessage.objects.defer("raw").prefetch_related(
            Prefetch("reports", queryset=Report.objects.only("id", "inbound"))
        )


class InboundDetailView(TenantAPIView):
    def tenant_queryset(self) -> QuerySet[InboundMessage]:
        return InboundMessage.objects.defer("raw")

    @extend_schema(responses=InboundSerializer, summary="One inbound message and its outcome")
    def get(self, request: TenantAPIRequest, pk: int) -> Response:
        message = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(InboundSerializer(message).data)


class InboundReprocessView(TenantAPIView):
    write_role = Role.MEMBER

    def tenant_queryset(self) -> QuerySet[InboundMessage]:
        return InboundMessage.objects.defer("raw")

    @extend_schema(
        request=None,
        responses={200: InboundSerializer, 400: OpenApiResponse(
            ErrorSerializer, "The message is neither failed nor unattributed."
        )},
        summary="Queue a failed or unattributed message again (write key)",
    )  # fmt: skip
    def post(self, request: TenantAPIRequest, pk: int) -> Response:
        message: InboundMessage = get_object_or_404(self.get_queryset(), pk=pk)
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
    def post(self, request: TenantAPIRequest) -> Response:
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
