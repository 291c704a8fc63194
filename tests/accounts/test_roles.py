"""Roles as templates see them: ``membership.at_least.<role>``, the test tenant_view makes."""

import re

import pytest
from django.urls import reverse

from accounts.models import Membership, Role, Tenant
from tests.conftest import ROOT
from tests.factories import make_member, make_tenant
from tests.web import fresh_client, login

# owner ⊃ admin ⊃ member ⊃ viewer: a viewer reads; a member also uploads and reprocesses;
# an admin also manages the tenant's domains, mailboxes, keys and members; an owner also
# makes owners and deletes the tenant.
HOLDS = {
    Role.VIEWER: {"member": False, "admin": False, "owner": False},
    Role.MEMBER: {"member": True, "admin": False, "owner": False},
    Role.ADMIN: {"member": True, "admin": True, "owner": False},
    Role.OWNER: {"member": True, "admin": True, "owner": True},
}
TEMPLATES = ROOT / "templates"


@pytest.mark.parametrize("role", list(Role))
def test_at_least_holds_for_the_role_and_those_below_it(role: Role) -> None:
    at_least = Membership(role=role).at_least

    assert {name: getattr(at_least, name) for name in HOLDS[role]} == HOLDS[role]


@pytest.mark.parametrize("role", list(Role))
def test_at_least_agrees_with_the_guard_of_the_views(role: Role) -> None:
    membership = Membership(role=role)

    for least in (Role.MEMBER, Role.ADMIN, Role.OWNER):
        assert getattr(membership.at_least, least.value) == membership.has_role(least)


def test_only_an_owner_may_give_the_owner_role() -> None:
    def values(role: Role) -> list[str]:
        return [value for value, _ in Membership(role=role).assignable_roles]

    assert values(Role.OWNER) == ["owner", "admin", "member", "viewer"]
    assert values(Role.ADMIN) == ["admin", "member", "viewer"]


def test_templates_ask_roles_only_through_at_least() -> None:
    """A template that compares role strings drifts from the views' guards unnoticed."""
    literal = re.compile(r"""{%[^%]*["'](?:owner|admin|member|viewer)["'][^%]*%}""")
    asked = re.compile(r"\bat_least\.(\w+)")
    known = set(HOLDS[Role.OWNER])
    compared, unknown = [], []
    for path in sorted(TEMPLATES.rglob("*.html")) + sorted(TEMPLATES.rglob("*.txt")):
        text = path.read_text()
        name = path.relative_to(TEMPLATES)
        compared += [f"{name}: {tag}" for tag in literal.findall(text)]
        unknown += [f"{name}: {word}" for word in asked.findall(text) if word not in known]

    assert compared == []
    assert unknown == []  # a misspelt at_least.<role> is silently false in a template


def _offered(page: str, tenant: Tenant, owner: Membership, target: Membership) -> set[str]:
    """The role-bound controls on the members page, by name."""
    controls = {
        "upload": f'href="{reverse("upload", args=[tenant.slug])}"',
        "settings": f'href="{reverse("tenant_settings", args=[tenant.slug])}"',
        "invite": 'id="invite-title"',
        "change a member's role": f'id="role-{target.pk}"',
        "change an owner's role": f'id="role-{owner.pk}"',
        "give the owner role": '<option value="owner"',
        "transfer ownership": "Transfer ownership",
    }
    return {name for name, html in controls.items() if html in page}


OFFERED = {
    Role.VIEWER: set(),
    Role.MEMBER: {"upload"},
    Role.ADMIN: {"upload", "settings", "invite", "change a member's role"},
    Role.OWNER: {"upload", "settings", "invite", "change a member's role",
                 "change an owner's role", "give the owner role", "transfer ownership"},
}  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_the_members_page_offers_each_role_exactly_its_controls(role: Role) -> None:
    tenant = make_tenant("acme")
    owner = Membership.objects.get(tenant=tenant, role=Role.OWNER)
    target = make_member(tenant, Role.MEMBER, email="target@acme.test")
    me = make_member(tenant, role, email="me@acme.test")
    client = fresh_client()
    login(client, me.user)

    page = client.get(reverse("members", args=[tenant.slug])).content.decode()

    assert _offered(page, tenant, owner, target) == OFFERED[role]
