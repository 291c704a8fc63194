"""Entering a tenant from the URL: the one way a web view gets its tenant.

``tenant_view(Role.X)`` wraps a view taking ``(request, ...)`` under
``/t/<slug>/...``: the person must be logged in and a member (else 404, whether or not
the tenant exists), hold at least role X (else 403), and the view then runs inside
``scope(tenant=...)`` with ``request.tenant`` and ``request.membership`` set. Every view
wrapped is listed in ``TENANT_VIEWS`` so tests can prove that each one is covered.

Tasks enter the scope of the row they are given (``row_scope``). The few true
cross-tenant sweeps say so with ``across_tenants("why")``, each use listed by
tests/test_tenancy_bypasses.py; nothing else lifts scoping.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponseBase
from django_htmx.middleware import HtmxDetails
from django_scopes import scope, scopes_disabled

from accounts.context import LAST_TENANT_COOKIE
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


View = Callable[..., HttpResponseBase]  # HttpResponse, or StreamingHttpResponse


def tenant_view(at_least: Role) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
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
                response = view(request, *args, **kwargs)
            remember_tenant(request, response, slug)
            return response

        TENANT_VIEWS[f"{view.__module__}.{view.__qualname__}"] = at_least
        wrapper.tenant_role = at_least  # type: ignore[attr-defined]
        return wrapper

    return decorate


def remember_tenant(request: HttpRequest, response: HttpResponseBase, slug: str) -> None:
    """The account pages show the navigation of the tenant last visited (accounts.context)."""
    if request.COOKIES.get(LAST_TENANT_COOKIE) != slug and not getattr(request, "htmx", False):
        response.set_cookie(
            LAST_TENANT_COOKIE,
            slug,
            max_age=365 * 24 * 3600,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )


@contextmanager
def across_tenants(why: str) -> Iterator[None]:
    """Lift tenant scoping for a true cross-tenant sweep, and say why.

    The one way to do it: everything else runs in the scope of one tenant (a request's, a
    task's row's) or of a batch's tenants. Each use is a visible decision, listed and
    counted by tests/test_tenancy_bypasses.py. ``why`` is for the reader (and that test).
    """
    if not why.strip():
        raise ValueError("across_tenants: say why this sweep crosses tenants")
    with scopes_disabled():
        yield


_Row = TypeVar("_Row", bound=Model)


def tenant_of(model: type[Model], pk: int) -> int | None:
    """The tenant of row ``pk`` of a tenant-owned ``model`` (None: no such row); nothing else."""
    with across_tenants("a task given a row's id learns the row's tenant, and only that"):
        rows = model._default_manager.filter(pk=pk)
        return cast(int | None, rows.values_list("tenant_id", flat=True).first())


@contextmanager
def row_scope(model: type[_Row], pk: int, *related: str) -> Iterator[_Row | None]:
    """Row ``pk`` of ``model``, read inside the scope of its tenant; None if it is gone.

    How a task enters a scope: it is given an id, not a tenant. Only the row's tenant is
    read across tenants (``tenant_of``); the row itself (with ``related``) is read, and
    the caller's block runs, in that tenant's scope. A ``Tenant`` is its own tenant.
    """
    tenant_id = pk if model is Tenant else tenant_of(model, pk)
    if tenant_id is None:
        yield None
        return
    with scope(tenant=tenant_id):
        yield model._default_manager.select_related(*related).filter(pk=pk).first()
