"""Template context for every page: the person's tenants, for the switcher, and the tenant
whose navigation the bar shows.

On a tenant's pages that is the tenant of the URL. Elsewhere (the account pages: e-mail,
password, two-factor) it is the tenant last visited, remembered in a cookie by
``accounts.tenancy.tenant_view``, so the tenant navigation stays; the cookie names a slug
only, and counts only when the person is still a member of that tenant.
"""

from django.http import HttpRequest

from accounts.models import Membership

LAST_TENANT_COOKIE = "last_tenant"


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = (
        Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name")
    )
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    last = request.COOKIES.get(LAST_TENANT_COOKIE)
    if tenant is None and last:
        remembered = next((m for m in memberships if m.tenant.slug == last), None)
        if remembered is not None:
            tenant, membership = remembered.tenant, remembered
    return {"my_memberships": memberships, "tenant": tenant, "membership": membership}
