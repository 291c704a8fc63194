"""Operator admin: what arrived, what it became, and the rollups (read-only)."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from reports.ingest.messages import message_reprocess
from reports.models import DailyStat, FailureDetail, InboundMessage, PolicyResult, Report


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "tenant", "channel", "status", "error_code", "size", "received_at"]
    list_filter = ["status", "channel", "tenant"]
    search_fields = ["sha256", "filename", "error_code"]
    exclude = ["raw"]
    actions = ["reprocess"]

    @admin.action(description="Reprocess the selected failed or unattributed messages")
    def reprocess(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        queued = sum(message_reprocess(message=m) for m in queryset)
        self.message_user(request, f"Queued {queued} message(s).", messages.SUCCESS)


_POLICY_FIELDS = ("policy_type", "policy_domain", "domain", "successful", "failed", "counted")


class PolicyInline(admin.TabularInline):
    model = PolicyResult
    fields = readonly_fields = _POLICY_FIELDS
    extra = 0
    can_delete = False


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = [
        "organization",
        "report_id",
        "tenant",
        "day",
        "successful",
        "failed",
        "dkim_result",
    ]
    list_filter = ["tenant", "organization", "dkim_result"]
    search_fields = ["report_id", "organization"]
    date_hierarchy = "day"
    exclude = ["raw_json_gz"]
    inlines = [PolicyInline]


@admin.register(FailureDetail)
class FailureDetailAdmin(ReadOnlyAdmin):
    list_display = [
        "result_type",
        "receiving_mx_hostname",
        "sending_mta_ip",
        "failed_session_count",
    ]
    list_filter = ["result_type"]
    list_select_related = ["policy"]


@admin.register(DailyStat)
class DailyStatAdmin(ReadOnlyAdmin):
    list_display = [
        "day", "domain", "organization", "policy_type",
        "successful", "failed", "counted_successful", "counted_failed",
    ]  # fmt: skip
    list_filter = ["policy_type", "tenant"]
    date_hierarchy = "day"
