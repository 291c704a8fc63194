"""Entering a tenant from the URL: the one way a web view gets its tenant.

``tenant_view(Role.X)`` wraps a view taking ``(request, ...)`` under
``/t/<slug>/...``: the person must be logged in and a member (else 404, whether or not
the tenant exists), hold at least role X (else 403), and the view then runs inside
``scope(tenant=...)`` with ``request.tenant`` and ``request.membership`` set. Every view
wrapped is listed in ``TENANT_VIEWS`` so tests can prove that each one is covered.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django_htmx.middleware import HtmxDetails
from django_scopes import scope

from accounts.models import Membership, Role, Tenant, User

TENANT_VIEWS: dict[str, Role] = {}


class AuthenticatedRequest(HttpRequest):
    """The request a ``login_required`` view gets: its person is logged in."""

    user: User
    htmx: HtmxDetails  # set on every request by django-htmx's middleware


class TenantRequest(AuthenticatedRequest):
    """The request a ``tenant_view`` gets: a member, inside their tenant's scope."""

    tenant: Tenant
    membership: Membership


View = Callable[..., HttpResponse]


def tenant_view(at_least: Role) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            # login_required let only a logged-in person through; tenant and membership
            # are set just below.
            request = cast(TenantRequest, request)
            membership = (
                Membership.objects.select_related("tenant")
                .filter(tenant__slug=slug, user=request.user)
                .first()
            )
            if membership is None:
                raise Http404("No such tenant.")
            if not membership.has_role(at_least):
                raise PermissionDenied(f"This needs the {at_least.label} role or higher.")
            request.tenant = membership.tenant
            request.membership = membership
            with scope(tenant=membership.tenant):
                return view(request, *args, **kwargs)

        TENANT_VIEWS[f"{view.__module__}.{view.__qualname__}"] = at_least
        wrapper.tenant_role = at_least  # type: ignore[attr-defined]
        return wrapper

    return decorate
