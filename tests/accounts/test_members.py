"""Members: invitations by signed link, roles, removal, leaving, ownership, audit log."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client, TestCase
from django.urls import reverse
from django_scopes import scopes_disabled

from accounts.models import AuditEvent, Invitation, Membership, Role, Tenant, User
from tests.accounts.test_auth import link_in, sign_up
from tests.factories import make_member, make_tenant, make_user, owner_of
from tests.web import fresh_client, login

pytestmark = pytest.mark.django_db


def invite(client: Client, email: str, role: str = "member") -> str:
    # The email leaves when the invitation is committed.
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(reverse("members", args=["acme"]), {"email": email, "role": role})
    assert response.status_code == 302, response.content[:500]
    return link_in(mail.outbox[-1], "/invite/")


def roles(tenant: Tenant) -> dict[str, str]:
    return dict(Membership.objects.filter(tenant=tenant).values_list("user__email", "role"))


def actions(tenant: Tenant) -> list[str]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(tenant=tenant).values_list("action", flat=True))


def test_an_invited_person_signs_up_verifies_and_joins_with_the_role(
    acme: Tenant, owner: Client
) -> None:
    link = invite(owner, "new@example.com", role="viewer")
    assert mail.outbox[-1].to == ["new@example.com"]
    guest = fresh_client()

    assert b"Join Acme" in guest.get(link).content
    sign_up(guest, "new@example.com")
    confirm = link_in(mail.outbox[-1], "/accounts/confirm-email/")
    response = guest.post(confirm, follow=True)
    assert response.redirect_chain[-1][0] == link  # back to the invitation after verifying
    response = guest.post(link)

    assert response["Location"] == reverse("tenant_home", args=["acme"])
    assert roles(acme)["new@example.com"] == Role.VIEWER
    user = User.objects.get(email="new@example.com")
    assert list(Membership.objects.filter(user=user).values_list("tenant__slug", flat=True)) == [
        "acme"
    ]  # no tenant of their own when joining through an invitation
    assert {"member.invited", "member.joined"} <= set(actions(acme))


def test_an_invitation_is_used_once(acme: Tenant, owner: Client) -> None:
    link = invite(owner, "ann@example.com")
    guest = fresh_client()
    login(guest, make_user("ann@example.com"))
    assert guest.post(link).status_code == 302

    again = guest.post(link)

    assert again.status_code == 410
    assert b"already been used" in again.content


def test_an_invitation_for_another_address_is_refused(acme: Tenant, owner: Client) -> None:
    link = invite(owner, "ann@example.com")
    guest = fresh_client()
    login(guest, make_user("mallory@example.com"))

    response = guest.post(link)

    assert response.status_code == 403
    assert b"This invitation is for ann@example.com" in response.content
    assert "mallory@example.com" not in roles(acme)


def test_an_expired_invitation_is_refused(acme: Tenant, owner: Client, settings) -> None:
    link = invite(owner, "ann@example.com")
    settings.INVITATION_MAX_AGE = timedelta(seconds=-1)
    guest = fresh_client()
    login(guest, make_user("ann@example.com"))

    response = guest.post(link)

    assert response.status_code == 410
    assert b"expired" in response.content
    assert "ann@example.com" not in roles(acme)


def test_a_forged_or_withdrawn_invitation_is_refused(acme: Tenant, owner: Client) -> None:
    link = invite(owner, "ann@example.com")
    guest = fresh_client()
    login(guest, make_user("ann@example.com"))
    assert b"not valid" in guest.get(link.replace("/invite/", "/invite/x")).content

    with scopes_disabled():
        invitation = Invitation.objects.get()
    owner.post(reverse("invitation_withdraw", args=["acme", invitation.pk]))

    assert b"withdrawn" in guest.post(link).content
    assert "ann@example.com" not in roles(acme)


def test_inviting_as_owner_or_a_member_again_is_refused(acme: Tenant, owner: Client) -> None:
    make_member(acme, Role.MEMBER, email="m@example.com")
    for email, role in (("x@example.com", "owner"), ("m@example.com", "member")):
        response = owner.post(reverse("members", args=["acme"]), {"email": email, "role": role})
        assert response.status_code == 200
    assert not mail.outbox


def test_an_admin_changes_roles_but_cannot_make_owners(acme: Tenant) -> None:
    admin = make_member(acme, Role.ADMIN, email="admin@example.com")
    target = make_member(acme, Role.VIEWER, email="v@example.com")
    client = fresh_client()
    login(client, admin.user)

    client.post(reverse("member_role", args=["acme", target.pk]), {"role": "member"})
    client.post(reverse("member_role", args=["acme", target.pk]), {"role": "owner"})
    owner = Membership.objects.get(tenant=acme, role=Role.OWNER)
    client.post(reverse("member_role", args=["acme", owner.pk]), {"role": "viewer"})

    assert roles(acme)["v@example.com"] == Role.MEMBER
    assert roles(acme)["owner@acme.test"] == Role.OWNER
    assert actions(acme).count("member.role_changed") == 1


def test_the_last_owner_cannot_leave_or_be_demoted(acme: Tenant, owner: Client) -> None:
    me = Membership.objects.get(tenant=acme, role=Role.OWNER)
    owner.post(reverse("tenant_leave", args=["acme"]))
    owner.post(reverse("member_role", args=["acme", me.pk]), {"role": "admin"})
    assert roles(acme)["owner@acme.test"] == Role.OWNER


def test_ownership_transfer_then_the_old_owner_can_leave(acme: Tenant, owner: Client) -> None:
    heir = make_member(acme, Role.ADMIN, email="heir@example.com")

    owner.post(reverse("member_transfer", args=["acme", heir.pk]))
    assert roles(acme) == {"owner@acme.test": Role.ADMIN, "heir@example.com": Role.OWNER}
    response = owner.post(reverse("tenant_leave", args=["acme"]))

    assert response["Location"] == reverse("home")
    assert roles(acme) == {"heir@example.com": Role.OWNER}
    assert {"member.ownership_transferred", "member.left"} <= set(actions(acme))


def test_removing_a_member(acme: Tenant, owner: Client) -> None:
    gone = make_member(acme, Role.MEMBER, email="gone@example.com")
    owner.post(reverse("member_remove", args=["acme", gone.pk]))
    assert "gone@example.com" not in roles(acme)
    assert "member.removed" in actions(acme)


def test_an_admin_cannot_remove_an_owner(acme: Tenant) -> None:
    admin = make_member(acme, Role.ADMIN, email="admin@example.com")
    client = fresh_client()
    login(client, admin.user)
    owner = Membership.objects.get(tenant=acme, role=Role.OWNER)
    client.post(reverse("member_remove", args=["acme", owner.pk]))
    assert roles(acme)["owner@acme.test"] == Role.OWNER


def test_the_member_list_and_audit_log_show_only_this_tenants_people(
    acme: Tenant, owner: Client
) -> None:
    other = make_tenant("other")
    make_member(other, Role.MEMBER, email="secret@other.test")
    with scopes_disabled():
        Invitation.objects.create(tenant=other, email="invited@other.test")
    invite(owner, "ann@example.com")

    members = owner.get(reverse("members", args=["acme"])).content
    audit = owner.get(reverse("audit_log", args=["acme"])).content

    assert b"ann@example.com" in members and b"owner@acme.test" in members
    assert b"other.test" not in members and b"other.test" not in audit
    assert b"Invited ann@example.com as member" in audit


def test_the_switcher_lists_only_my_tenants(acme: Tenant, owner: Client) -> None:
    mine = make_tenant("mine")
    Membership.objects.create(tenant=mine, user=owner_of(acme), role=Role.VIEWER)
    make_tenant("theirs")

    page = owner.get(reverse("tenant_home", args=["acme"])).content.decode()

    assert 'href="/t/mine/"' in page and 'href="/t/acme/"' in page
    assert "/t/theirs/" not in page


def test_an_owner_creates_another_tenant_and_renames_it(owner: Client) -> None:
    response = owner.post(reverse("tenant_new"), {"name": "Second Team"})
    assert response["Location"] == "/t/second-team/"
    owner.post(
        reverse("tenant_settings", args=["second-team"]),
        {"name": "Renamed", "time_zone": "Europe/Berlin", "digest_weekday": 4},
    )
    tenant = Tenant.objects.get(slug="second-team")
    assert (tenant.name, tenant.time_zone, tenant.weekly_digest, tenant.digest_weekday) == (
        "Renamed", "Europe/Berlin", False, 4,
    )  # fmt: skip
    assert "tenant.updated" in actions(tenant)


def test_deleting_a_tenant_takes_its_data_and_needs_the_slug_typed(
    acme: Tenant, owner: Client
) -> None:
    from tests.factories import make_domain

    make_domain(acme, "example.org")
    wrong = owner.post(reverse("tenant_delete", args=["acme"]), {"confirm": "nope"})
    assert wrong.status_code == 200 and Tenant.objects.filter(slug="acme").exists()

    owner.post(reverse("tenant_delete", args=["acme"]), {"confirm": "acme"})

    assert not Tenant.objects.filter(slug="acme").exists()
    with scopes_disabled():
        from domains.models import Domain

        assert not Domain.objects.exists()
