"""Reads for the account pages: a tenant's members, open invitations, API keys and audit log.

Callers are inside the tenant's scope. ``Membership`` and ``ApiKey`` have no scoped manager
(they are how a request finds its tenant), so they are filtered by the tenant here.
"""

from django.db.models import QuerySet

from accounts.models import ApiKey, AuditEvent, Invitation, Membership, Tenant, User


def first_tenant_of(user: User) -> Tenant | None:
    """The tenant a person lands on from the site's root: their oldest membership's."""
    membership = Membership.objects.filter(user=user).select_related("tenant").first()
    return membership.tenant if membership else None


def members_of(tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__email")


def invitations_open() -> QuerySet[Invitation]:
    return Invitation.objects.filter(accepted_at__isnull=True).order_by("-created_at")


def api_keys_of(tenant: Tenant) -> QuerySet[ApiKey]:
    return (
        ApiKey.objects.filter(tenant=tenant)
        .select_related("created_by")  # shown beside each key
        .order_by("-created")
    )


def audit_events() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.all()
