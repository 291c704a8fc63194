"""REST API access: keys (Bearer or Api-Key), sessions, the tenant, errors in one shape.

A key acts for its tenant only: a read key as a viewer, a write key as an admin. A
logged-in member may use the API from the browser (with CSRF) naming the tenant in the
``X-Tenant`` header or ``?tenant=`` by its slug. Every view built on ``TenantAPIView``
runs inside that tenant's scope, so a query can only see its rows, and reads its rows
through one scoped hook, ``tenant_queryset()``.
"""

import logging
from contextlib import ExitStack
from datetime import timedelta
from typing import Any, ClassVar, cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone
from django_scopes import scope
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, generics, permissions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView, exception_handler

from accounts.api_schema import TenantAutoSchema
from accounts.models import ApiKey, Membership, Role, Tenant
from tlsrpt_saas.ratelimit import window_hit

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


class KeyRateThrottle(BaseThrottle):
    """Requests per key (or per person, for sessions) in a fixed window of the rate's
    period (``API_RATE_LIMIT``), counted by one atomic increment in the shared cache
    (``window_hit``): concurrent requests cannot both read a count under the limit, as
    they could with DRF's read-then-write history. Retry-After is the window's end."""

    _PERIODS: ClassVar[dict[str, int]] = {"s": 1, "m": 60, "h": 3600, "d": 86400}

    def allow_request(self, request: Request, view: object) -> bool:
        number, _, period = settings.API_RATE_LIMIT.partition("/")
        count, self._wait = window_hit("api", self._ident(request), self._PERIODS[period[0]])
        return count <= int(number)

    def wait(self) -> float:
        return self._wait

    def _ident(self, request: Request) -> str:
        if isinstance(request.auth, ApiKey):
            return f"key:{request.auth.prefix}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"ip:{self.get_ident(request)}"


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

    # (More in comments, not in the docstring: drf-spectacular shows it in every operation.)
    # The tenant's scope is entered as soon as authentication has found the tenant and left
    # when dispatch ends, however it ends. A view's rows come from one hook,
    # tenant_queryset(), called inside that scope (and its result filtered on the tenant once
    # more); get_queryset and get_object are the base's, and a subclass that overrides
    # either is refused when it is defined. dangerously_unscoped_queryset() is the named way
    # out, for rows no tenant owns: a view implements one hook or the other.

    authentication_classes = [KeyAuthentication, SessionAuthentication]
    permission_classes = [permissions.AllowAny]
    throttle_classes = [KeyRateThrottle]
    schema = TenantAutoSchema()
    write_role = Role.ADMIN
    _tenant_scope: ExitStack

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _refuse_raw_reads(cls)

    def tenant_queryset(self) -> QuerySet[Any]:
        """The view's rows, read inside the tenant's scope; views with rows implement it."""
        raise NotImplementedError(f"{type(self).__qualname__} reads no rows: no tenant_queryset()")

    def dangerously_unscoped_queryset(self) -> QuerySet[Any]:
        """Rows no tenant owns, returned as they are (not filtered on the tenant)."""
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        if _defines(type(self), "dangerously_unscoped_queryset"):
            return self.dangerously_unscoped_queryset()
        if getattr(self, "swagger_fake_view", False):
            # Schema generation has no tenant: the hook runs in a scope of no tenant, for
            # its model only.
            with scope(tenant=[]):
                return self.tenant_queryset().none()
        tenant = cast(TenantAPIRequest, self.request).tenant
        return self.tenant_queryset().filter(tenant=tenant)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # DRF authenticates inside dispatch (in initial()), so the tenant is known only
        # there: initial() enters its scope on this stack, which leaves it however
        # dispatch ends, error responses included.
        with ExitStack() as self._tenant_scope:
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        request = cast(TenantAPIRequest, request)  # given its tenant and role just below
        request.tenant, request.role = _resolve(request)
        needed = Role.VIEWER if request.method in permissions.SAFE_METHODS else self.write_role
        if request.role.rank < needed.rank:
            raise exceptions.PermissionDenied(
                "This key can only read." if isinstance(request.auth, ApiKey)
                else f"This needs the {needed.label} role."
            )  # fmt: skip
        self._tenant_scope.enter_context(scope(tenant=request.tenant))


# Where each read of a TenantAPIView must come from: the base's hook, DRF's lookup on it.
_READS = {"get_queryset": TenantAPIView, "get_object": generics.GenericAPIView}


def _defines(cls: type, name: str) -> bool:
    return getattr(cls, name) is not getattr(TenantAPIView, name)


def _refuse_raw_reads(cls: type[TenantAPIView]) -> None:
    for name, allowed in _READS.items():
        owner = next((base for base in cls.__mro__ if name in vars(base)), allowed)
        if owner is not allowed:
            raise TypeError(
                f"{cls.__name__}: {name} is {owner.__name__}'s, not TenantAPIView's; "
                "implement tenant_queryset() (read in the tenant's scope), "
                "or dangerously_unscoped_queryset() for rows no tenant owns"
            )
    if _defines(cls, "tenant_queryset") and _defines(cls, "dangerously_unscoped_queryset"):
        raise TypeError(
            f"{cls.__name__}: implement tenant_queryset() or "
            "dangerously_unscoped_queryset(), not both"
        )


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
