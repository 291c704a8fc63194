"""Test data: tenants, users and domains made the way the product makes them."""

from allauth.account.models import EmailAddress
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.models import Membership, Role, Tenant, User
from domains.models import Domain

PASSWORD = "correct horse battery"


def make_user(email: str) -> User:
    """A person whose email address is verified, as after sign-up."""
    user = User.objects.create_user(email, PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def make_tenant(slug: str = "acme", owner: str | None = None) -> Tenant:
    tenant = Tenant.objects.create(slug=slug, name=slug.title())
    user = make_user(owner or f"owner@{slug}.test")
    Membership.objects.create(user=user, tenant=tenant, role=Role.OWNER)
    return tenant


def make_member(tenant: Tenant, role: Role, email: str | None = None) -> Membership:
    user = make_user(email or f"{role}@{tenant.slug}.test")
    return Membership.objects.create(user=user, tenant=tenant, role=role)


def owner_of(tenant: Tenant) -> User:
    owner = Membership.objects.filter(tenant=tenant, role=Role.OWNER).first()
    assert owner is not None, f"{tenant} has no owner"
    return owner.user


def make_domain(
    tenant: Tenant, name: str, *, verified: bool = True, mx_hosts: list[str] | None = None
) -> Domain:
    with scopes_disabled():
        return Domain.objects.create(
            tenant=tenant,
            name=name,
            verified_at=timezone.now() if verified else None,
            mx_hosts=mx_hosts or [],
        )
