"""Creating, changing and deleting tenants."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import transaction
from django.http import HttpRequest
from django.utils.text import slugify

from accounts.audit import audit_record
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


def tenant_create_for(*, owner: User, name: str, request: HttpRequest | None = None) -> Tenant:
    """A new tenant named ``name`` owned by ``owner``, with a free slug made from it."""
    with transaction.atomic():
        tenant = Tenant.objects.create(slug=_free_slug(name), name=name.strip()[:100])
        Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
        audit_record(
            tenant=tenant, actor=owner, action="tenant.created",
            summary=f"Created the tenant {tenant.name}", request=request,
        )  # fmt: skip
    return tenant


def _free_slug(name: str) -> str:
    base = (slugify(name) or "team")[:40].strip("-") or "team"
    slug, n = base, 1
    while Tenant.objects.filter(slug=slug).exists() or slug in RESERVED_SLUGS:
        n += 1
        slug = f"{base}-{n}"
    return slug


# Slugs that would read as product pages under /t/.
RESERVED_SLUGS = {"new", "admin", "api", "settings"}


def tenant_update(
    *, tenant: Tenant, actor: User, changes: dict[str, object], request: HttpRequest | None = None
) -> None:
    changed = {k: v for k, v in changes.items() if getattr(tenant, k) != v}
    if not changed:
        return
    with transaction.atomic():
        for field, value in changed.items():
            setattr(tenant, field, value)
        tenant.save(update_fields=list(changed))
        audit_record(
            tenant=tenant, actor=actor, action="tenant.updated",
            summary="Changed " + ", ".join(f"{k} to {v}" for k, v in changed.items()),
            request=request,
        )  # fmt: skip


def tenant_delete(*, tenant: Tenant) -> None:
    """Delete the tenant and, through the cascade, all of its data."""
    with transaction.atomic():
        tenant.delete()
