"""Operator admin for domains (scoping is lifted for the admin by middleware)."""

from django.contrib import admin

from domains.models import Domain


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "verified_at", "verified_by", "created_at"]
    list_filter = ["verified_by", "tenant"]
    search_fields = ["name"]
    readonly_fields = ["verification_token", "created_at"]
