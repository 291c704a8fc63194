"""Changing who belongs to a tenant: roles, removal, leaving, ownership.

Each function checks the rule it enforces and raises ``MemberError`` with a sentence a
person can act on; the view turns it into a message. Each writes its audit event in the
same transaction.
"""

from django.db import transaction
from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.models import Membership, Role


class MemberError(Exception):
    pass


def _owners(tenant_id: int) -> int:
    return Membership.objects.filter(tenant_id=tenant_id, role=Role.OWNER).count()


def _locked(membership: Membership) -> Membership:
    return (
        Membership.objects.select_for_update()
        .select_related("user", "tenant")
        .get(pk=membership.pk)
    )


def membership_role_change(
    *, actor: Membership, target: Membership, role: Role, request: HttpRequest | None = None
) -> None:
    with transaction.atomic():
        target = _locked(target)
        if Role(target.role) == role:
            return
        if role == Role.OWNER or target.role == Role.OWNER:
            if not actor.has_role(Role.OWNER):
                raise MemberError("Only an owner can make or unmake owners.")
            if target.role == Role.OWNER and _owners(target.tenant_id) == 1:
                raise MemberError("The last owner cannot stop being an owner.")
        old = target.role
        target.role = role
        target.save(update_fields=["role"])
        audit_record(
            tenant=target.tenant, actor=actor.user, action="member.role_changed",
            summary=f"Changed {target.user.email} from {old} to {role}", request=request,
        )  # fmt: skip


def membership_remove(
    *, actor: Membership, target: Membership, request: HttpRequest | None = None
) -> None:
    with transaction.atomic():
        target = _locked(target)
        if target.role == Role.OWNER and not actor.has_role(Role.OWNER):
            raise MemberError("Only an owner can remove an owner.")
        if target.role == Role.OWNER and _owners(target.tenant_id) == 1:
            raise MemberError("The last owner cannot be removed; transfer ownership first.")
        target.delete()
        audit_record(
            tenant=target.tenant, actor=actor.user, action="member.removed",
            summary=f"Removed {target.user.email}", request=request,
        )  # fmt: skip


def membership_leave(*, membership: Membership, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        membership = _locked(membership)
        if membership.role == Role.OWNER and _owners(membership.tenant_id) == 1:
            raise MemberError(
                "You are the last owner: transfer ownership or delete the tenant first."
            )
        membership.delete()
        audit_record(
            tenant=membership.tenant, actor=membership.user, action="member.left",
            summary=f"{membership.user.email} left", request=request,
        )  # fmt: skip


def ownership_transfer(
    *, actor: Membership, target: Membership, request: HttpRequest | None = None
) -> None:
    """Make ``target`` an owner and the acting owner an admin."""
    with transaction.atomic():
        actor, target = _locked(actor), _locked(target)
        if actor.role != Role.OWNER:
            raise MemberError("Only an owner can transfer ownership.")
        if actor.pk == target.pk:
            raise MemberError("You already own this tenant.")
        target.role = Role.OWNER
        target.save(update_fields=["role"])
        actor.role = Role.ADMIN
        actor.save(update_fields=["role"])
        audit_record(
            tenant=actor.tenant, actor=actor.user, action="member.ownership_transferred",
            summary=f"Transferred ownership to {target.user.email}", request=request,
        )  # fmt: skip
