"""REST API of the reports app: the daily stats, from the same selectors as the pages."""

from datetime import date

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_auth import TenantAPIView
from domains.models import Domain
from reports import selectors


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
