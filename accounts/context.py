"""Template context for every page: the person's tenants, for the switcher."""

from django.http import HttpRequest

from accounts.models import Membership


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "my_memberships": Membership.objects.filter(user=user)
        .select_related("tenant")
        .order_by("tenant__name"),
        "tenant": getattr(request, "tenant", None),
        "membership": getattr(request, "membership", None),
    }
