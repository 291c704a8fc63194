"""The query parameters of the reports API: the period and the report filters, read as the
pages read them (``reports.dashboards``), with their OpenAPI descriptions.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

from accounts.api_auth import TenantAPIRequest
from reports.dashboards import periods, selectors
from reports.dashboards.periods import period_parse
from reports.dashboards.report_filters import ReportFilters, report_filters_parse

API_MAX_DAYS = 731  # the API's stats hold a row per day: at most two years in one response


# Spellings of the period the API once read (the reports' and failures' filters): refused
# with a 400 naming the right one, never ignored.
OLD_SPELLINGS = {"start": "from", "end": "to"}


def refuse_old_spellings(request: Request) -> None:
    used = {
        old: [f"Not a parameter: the period is 'from' and 'to'; use '{new}' (YYYY-MM-DD)."]
        for old, new in OLD_SPELLINGS.items()
        if old in request.query_params
    }
    if used:
        raise serializers.ValidationError(used)


def period_from_query(request: TenantAPIRequest) -> periods.Period:
    """``from`` and ``to`` read as the pages read them, each end with its default."""
    refuse_old_spellings(request)
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


def filters_from_query(request: Request) -> ReportFilters:
    """The report filters of the query string, the page's meaning; a 400 naming bad ones."""
    refuse_old_spellings(request)
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
        "inbound",
        OpenApiTypes.INT,
        description="An inbound message id: the reports that message carried.",
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


FAILURE_FILTERS = [
    OpenApiParameter("domain", OpenApiTypes.INT, description="A domain id."),
    OpenApiParameter("organization", OpenApiTypes.STR, description="The sending organization."),
    OpenApiParameter("result_type", OpenApiTypes.STR),
    *REPORT_FILTERS[-2:],
]


BREAKDOWN_KEYS = [*selectors.BREAKDOWNS, "sending_ip"]
