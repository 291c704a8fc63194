"""Request middleware of the project as a whole."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from accounts.tenancy import across_tenants


class AdminScopesDisabledMiddleware:
    """Lift tenant scoping for the operator's Django admin, and nowhere else.

    The admin is for the people who run the installation (staff only); they see every
    tenant's rows. Rendering happens inside ``get_response``, so it is covered too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefix = reverse("admin:index")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(self.prefix):
            with across_tenants("the operators' Django admin: staff see every tenant's rows"):
                return self.get_response(request)
        return self.get_response(request)
