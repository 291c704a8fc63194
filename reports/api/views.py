"""REST API of the reports app: stats, reports, failure details and the ingest log, from the
same selectors as the pages."""

from collections.abc import Mapping

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.datastructures import MultiValueDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers
from rest_framework.parsers import FileUploadParser, MultiPartParser
from rest_framework.response import Response

from accounts.api_auth import TenantAPIRequest, TenantAPIView
from accounts.api_paging import ApiCursor
from accounts.api_schema import ErrorSerializer
from accounts.models import Role
from domains.models import Domain
from reports.api.parameters import (
    BREAKDOWN_KEYS,
    FAILURE_FILTERS,
    FROM_TO,
    REPORT_FILTERS,
    filters_from_query,
    period_from_query,
)
from reports.api.serializers import (
    BreakdownSerializer,
    DayStatSerializer,
    FlatFailureSerializer,
    InboundSerializer,
    ReportDetailSerializer,
    ReportSerializer,
    UploadSerializer,
)
from reports.dashboards import selectors
from reports.dashboards.report_filters import (
    failure_details_matching,
    reports_matching,
)
from reports.inbound.store import inbound_store
from reports.ingest.messages import message_reprocess
from reports.models import Channel, FailureDetail, InboundMessage, Report


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
        period = period_from_query(request)
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


class ReportCursor(ApiCursor):
    ordering = ("-day", "-id")


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
        return reports_matching(filters_from_query(self.request))


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


class FailureCursor(ApiCursor):
    ordering = ("-id",)
    page_size = 100
    max_page_size = 1000


@extend_schema_view(
    get=extend_schema(
        parameters=FAILURE_FILTERS, summary="Failure details, one row each, for export"
    )
)
class FailureListView(TenantAPIView, generics.ListAPIView):
    serializer_class = FlatFailureSerializer
    pagination_class = FailureCursor

    def tenant_queryset(self) -> QuerySet[FailureDetail]:
        f = filters_from_query(self.request)
        return failure_details_matching(
            domain=f.domain, organization=f.organization, result_type=f.result_type,
            start=f.start, end=f.end,
        )  # fmt: skip


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
        period = period_from_query(request)
        rows = (
            selectors.failures_by_sending_ip(domain, period)
            if by == "sending_ip"
            else selectors.failures_by(domain, period, by)
        )
        return Response(
            BreakdownSerializer([{"key": k, "failed": n} for k, n in rows], many=True).data
        )


class InboundCursor(ApiCursor):
    ordering = ("-received_at", "-id")


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


class InboundUploadView(TenantAPIView):
    write_role = Role.MEMBER
    parser_classes = [MultiPartParser, FileUploadParser]

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={201: InboundSerializer},
        summary="Upload a report (multipart field 'file'); poll inbound/{id} for the outcome",
    )  # fmt: skip
    def post(self, request: TenantAPIRequest) -> Response:
        # Django closes a multipart request's files with the response, but not those of a
        # raw upload (FileUploadParser): close every one here, accepted or refused, so a
        # temporary file on disk goes at once, not when the garbage collector finds it.
        try:
            return self._store(request)
        finally:
            _uploads_close(request.FILES)

    def _store(self, request: TenantAPIRequest) -> Response:
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


def _uploads_close(files: MultiValueDict | Mapping[str, UploadedFile]) -> None:
    """Close every uploaded file: a temporary one on disk is removed as it closes."""
    # FileUploadParser gives a plain dict of one file; multipart a MultiValueDict.
    if isinstance(files, MultiValueDict):
        uploads = [upload for _, group in files.lists() for upload in group]
    else:
        uploads = list(files.values())
    for upload in uploads:
        upload.close()
