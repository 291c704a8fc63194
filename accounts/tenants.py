"""Creating tenants and their first owner."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import transaction

from accounts.models import Membership, Role, Tenant, User


def tenant_create(*, slug: str, owner_email: str, name: str | None = None) -> Tenant:
    """Create a tenant with ``owner_email`` as its owner; ValueError on bad input."""
    try:
        validate_slug(slug)
        validate_email(owner_email)
    except ValidationError as e:
        raise ValueError(" ".join(e.messages)) from None
    with transaction.atomic():
        if Tenant.objects.filter(slug=slug).exists():
            raise ValueError(f"A tenant with slug {slug!r} already exists.")
        owner = User.objects.filter(email__iexact=owner_email).first()
        if owner is None:
            owner = User.objects.create_user(owner_email)
        tenant = Tenant.objects.create(slug=slug, name=name or slug)
        Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    return tenant
