"""The OpenAPI description of every tenant API view: its key, and the errors it can answer."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable: invalid, not_found, throttled, ...")
    message = serializers.CharField()
    # Declared fields leave the class (DRF's metaclass collects them), so this one does not
    # replace Serializer.fields at run time; the stubs see only the class attribute.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Only for invalid input: the messages of each field.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_ERRORS = {
    400: "The input is not valid; `fields` says which and why.",
    401: "No API key, or one that is not valid, revoked or expired.",
    403: "A read key (or too small a role) for a write.",
    404: "No such object in this tenant (or, with a session, no such tenant).",
    415: "The body is not of a media type listed here.",
    429: "Over the key's rate limit; Retry-After says when to try again.",
}


class TenantAutoSchema(AutoSchema):
    """Every operation needs a key and lists the errors the view's base class can raise."""

    def get_auth(self) -> list[dict]:
        # The views let DRF's permissions through and refuse anonymous requests themselves.
        return [requirement for requirement in super().get_auth() if requirement]

    def get_operation(self, *args: Any, **kwargs: Any) -> dict | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        ref = self.resolve_serializer(ErrorSerializer, "response").ref
        for status in _error_statuses(self.method, operation):
            operation["responses"].setdefault(
                str(status),
                {"content": {"application/json": {"schema": ref}}, "description": _ERRORS[status]},
            )
        return operation


def _error_statuses(method: str, operation: dict) -> list[int]:
    statuses = [401, 404, 429]
    takes_query = any(p["in"] == "query" for p in operation.get("parameters", []))
    if "requestBody" in operation or takes_query:
        statuses.append(400)
    if method not in ("GET", "HEAD", "OPTIONS"):
        statuses.append(403)
    if "requestBody" in operation:
        statuses.append(415)
    return sorted(statuses)
