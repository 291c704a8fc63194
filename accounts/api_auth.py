"""REST API access: keys (Bearer or Api-Key), sessions, the tenant, errors in one shape.

A key acts for its tenant only: a read key as a viewer, a write key as an admin. A
logged-in member may use the API from the browser (with CSRF) naming the tenant in the
``X-Tenant`` header or ``?tenant=`` by its slug. Every view built on ``TenantAPIView``
runs inside that tenant's scope, so a query can only see its rows.
"""

import logging
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.http import Http404
from django.utils import timezone
from django_scopes import scope
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView, exception_handler

from accounts.api_schema import TenantAutoSchema
from accounts.models import ApiKey, Membership, Role, Tenant

logger = logging.getLogger("django.request")

_KEYWORDS = {"bearer", "api-key"}


class KeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[object, ApiKey] | None:
        keyword, _, secret = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if keyword.lower() not in _KEYWORDS or not secret.strip():
            return None
        try:
            # The library's manager is typed with its abstract model; the row is an ApiKey.
            key = cast(ApiKey, ApiKey.objects.get_from_key(secret.strip()))
        except ApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("This API key is not valid.") from None
        if key.revoked or key.has_expired:
            raise exceptions.AuthenticationFailed("This API key was revoked or has expired.")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser(), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class KeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.KeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A tenant's API key: `Authorization: Bearer <key>` "
            "(or `Authorization: Api-Key <key>`). Created on the tenant's API keys page.",
        }


class KeyRateThrottle(SimpleRateThrottle):
    """Requests per key (or per person, for sessions), counted in the shared cache."""

    scope = "api"

    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request: Request, view: object) -> str | None:
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _resolve(request: Request) -> tuple[Tenant, Role]:
    if isinstance(request.auth, ApiKey):
        return request.auth.tenant, Role.ADMIN if request.auth.writable else Role.VIEWER
    if not request.user or not request.user.is_authenticated:
        raise exceptions.NotAuthenticated("Send an API key: Authorization: Bearer <key>.")
    slug = request.META.get("HTTP_X_TENANT") or request.query_params.get("tenant", "")
    membership = (
        Membership.objects.select_related("tenant")
        .filter(user=request.user, tenant__slug=slug)
        .first()
    )
    if membership is None:
        raise Http404("No such tenant.")
    return membership.tenant, Role(membership.role)


class TenantAPIRequest(Request):
    """The request a ``TenantAPIView`` handler gets: its tenant and role resolved."""

    tenant: Tenant
    role: Role


class TenantAPIView(APIView):
    """Base of every API view: authenticated, a tenant resolved, its scope entered.

    ``write_role``: the least role for unsafe methods (reads need viewer).
    """

    authentication_classes = [KeyAuthentication, SessionAuthentication]
    permission_classes = [permissions.AllowAny]
    throttle_classes = [KeyRateThrottle]
    schema = TenantAutoSchema()
    write_role = Role.ADMIN

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        request = cast(TenantAPIRequest, request)  # given its tenant and role just below
        request.tenant, request.role = _resolve(request)
        needed = Role.VIEWER if request.method in permissions.SAFE_METHODS else self.write_role
        if request.role.rank < needed.rank:
            raise exceptions.PermissionDenied(
                "This key can only read." if isinstance(request.auth, ApiKey)
                else f"This needs the {needed.label} role."
            )  # fmt: skip
        self._scope = scope(tenant=request.tenant)
        self._scope.__enter__()

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        scoped = getattr(self, "_scope", None)
        if scoped is not None:
            scoped.__exit__(None, None, None)
            self._scope = None
        return super().finalize_response(request, response, *args, **kwargs)


_CODES = {400: "invalid", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
          405: "method_not_allowed", 415: "unsupported_media_type", 429: "throttled"}  # fmt: skip


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every error as {"error": {"code", "message", "fields"?}}, our own bugs included:
    a client of the API gets JSON, never Django's HTML error page."""
    response = exception_handler(exc, context)
    if response is None:
        request = context.get("request")
        logger.error(
            "Internal Server Error: %s", request.path if request else "API",
            exc_info=exc, extra={"status_code": 500, "request": request},
        )  # fmt: skip
        error = {"code": "server_error", "message": "Something went wrong on our side."}
        return Response({"error": error}, status=500)
    data = response.data
    fields = None
    if isinstance(data, dict) and "detail" in data:
        message = str(data["detail"])
    else:
        message, fields = "Some fields are not valid.", data
    error = {"code": _CODES.get(response.status_code, "error"), "message": message}
    if fields:
        error["fields"] = fields
    response.data = {"error": error}
    return response
