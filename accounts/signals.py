"""Sign-ins go into the audit log of every tenant the person belongs to."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django_scopes import scope

from accounts.audit import audit_record
from accounts.models import Membership, User


@receiver(user_logged_in)
def record_sign_in(sender: object, request: HttpRequest, user: User, **kwargs: object) -> None:
    memberships = list(Membership.objects.filter(user=user).select_related("tenant"))
    with scope(tenant=[m.tenant_id for m in memberships]):
        for membership in memberships:
            audit_record(
                tenant=membership.tenant, actor=user, action="account.signed_in",
                summary=f"{user.email} signed in", request=request,
            )  # fmt: skip
