"""Test data: tenants, users and domains made the way the product makes them."""

from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.models import Membership, Role, Tenant, User
from domains.models import Domain


def make_tenant(slug: str = "acme", owner: str | None = None) -> Tenant:
    tenant = Tenant.objects.create(slug=slug, name=slug.title())
    user = User.objects.create_user(owner or f"owner@{slug}.test", "correct horse battery")
    Membership.objects.create(user=user, tenant=tenant, role=Role.OWNER)
    return tenant


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
