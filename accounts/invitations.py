"""Inviting people to a tenant by email, and accepting an invitation.

The link carries the invitation's random key signed with a timestamp
(``django.core.signing``): it cannot be forged, and it expires after
``INVITATION_MAX_AGE``. An invitation is accepted once, by a person logged in with the
invited address.
"""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from accounts.audit import audit_record
from accounts.models import Invitation, Membership, Role, Tenant, User
from accounts.tenancy import across_tenants
from tlsrpt_saas.mail import header_clean

_SALT = "accounts.invitation"
SESSION_KEY = "pending_invitation"


class InvitationError(Exception):
    pass


def invitation_link(invitation: Invitation) -> str:
    token = signing.dumps(invitation.key, salt=_SALT)
    return settings.SITE_URL + reverse("invitation_accept", args=[token])


def invitation_create(
    *, tenant: Tenant, email: str, role: Role, actor: Membership, request: HttpRequest | None = None
) -> Invitation:
    email = email.strip().lower()
    if role == Role.OWNER:
        raise InvitationError("Invite as admin, then transfer ownership once they have joined.")
    if not actor.has_role(Role.ADMIN):
        raise InvitationError("Only admins can invite.")
    if Membership.objects.filter(tenant=tenant, user__email__iexact=email).exists():
        raise InvitationError(f"{email} is already a member.")
    with transaction.atomic():
        invitation = Invitation.objects.create(
            tenant=tenant, email=email, role=role, invited_by=actor.user
        )
        audit_record(
            tenant=tenant, actor=actor.user, action="member.invited",
            summary=f"Invited {email} as {role}", request=request,
        )  # fmt: skip
        link = invitation_link(invitation)
        transaction.on_commit(lambda: _send(invitation, link))
    return invitation


def _send(invitation: Invitation, link: str) -> None:
    context = {"invitation": invitation, "link": link, "days": settings.INVITATION_MAX_AGE.days}
    prefix = settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
    send_mail(
        subject=header_clean(f"{prefix}You are invited to {invitation.tenant.name}"),
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


def invitation_from_token(token: str) -> Invitation:
    """The invitation a link names; InvitationError when forged, expired, used or revoked."""
    try:
        key = signing.loads(token, salt=_SALT, max_age=settings.INVITATION_MAX_AGE)
    except signing.SignatureExpired:
        raise InvitationError("This invitation has expired: ask for a new one.") from None
    except signing.BadSignature:
        raise InvitationError("This invitation link is not valid.") from None
    with across_tenants("an invitation link names no tenant: looked up by its token"):
        invitation = Invitation.objects.select_related("tenant").filter(key=key).first()
    if invitation is None:
        raise InvitationError("This invitation was withdrawn.")
    if invitation.accepted_at is not None:
        raise InvitationError("This invitation has already been used.")
    if invitation.is_expired:
        raise InvitationError("This invitation has expired: ask for a new one.")
    return invitation


def invitation_accept(
    *, invitation: Invitation, user: User, request: HttpRequest | None = None
) -> Membership:
    verified = EmailAddress.objects.filter(
        user=user, email__iexact=invitation.email, verified=True
    ).exists()
    if not verified:
        raise InvitationError(
            f"This invitation is for {invitation.email}; you are logged in as {user.email}. "
            "Log in with the invited address (or add and verify it in your account)."
        )
    with transaction.atomic(), scope(tenant=invitation.tenant_id):
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.accepted_at is not None:
            raise InvitationError("This invitation has already been used.")
        membership, created = Membership.objects.get_or_create(
            tenant=invitation.tenant, user=user, defaults={"role": invitation.role}
        )
        locked.accepted_at, locked.accepted_by = timezone.now(), user
        locked.save(update_fields=["accepted_at", "accepted_by"])
        if created:
            audit_record(
                tenant=invitation.tenant, actor=user, action="member.joined",
                summary=f"{user.email} joined as {invitation.role}", request=request,
            )  # fmt: skip
    return membership


def invitation_revoke(
    *, invitation: Invitation, actor: Membership, request: HttpRequest | None = None
) -> None:
    with transaction.atomic():
        audit_record(
            tenant=invitation.tenant, actor=actor.user, action="member.invitation_revoked",
            summary=f"Withdrew the invitation of {invitation.email}", request=request,
        )  # fmt: skip
        invitation.delete()
