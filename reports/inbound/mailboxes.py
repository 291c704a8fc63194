"""Adding, changing and removing a tenant's IMAP mailboxes (the password encrypted)."""

from django.db import transaction
from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.models import Tenant, User
from reports.inbound.secrets import secret_encrypt
from reports.models import MailboxSource

FIELDS = ("name", "host", "port", "tls_mode", "username", "folder", "processed_folder")
# The stored password goes only where it was typed for: changing any of these needs it again,
# so an admin cannot send a colleague's mailbox password to a server of their own.
PASSWORD_BOUND = ("host", "port", "tls_mode", "username")
# Another server, account or folder is a new mailbox as far as UIDs go.
UID_BOUND = ("host", "port", "username", "folder")


def mailbox_needs_password(mailbox: MailboxSource | None, values: dict[str, object]) -> bool:
    """True when saving ``values`` must come with the password: a new mailbox, or one whose
    password would otherwise go to another server, port, security or user name."""
    return bool(_changed(mailbox, values, PASSWORD_BOUND))


def _changed(
    mailbox: MailboxSource | None, values: dict[str, object], fields: tuple[str, ...]
) -> list[str]:
    """The ``fields`` whose stored values (read again: a form may have changed the instance)
    differ from ``values``; all of them for a new mailbox."""
    if mailbox is None or mailbox.pk is None:
        return list(fields)
    stored = MailboxSource.objects.filter(pk=mailbox.pk).values(*fields).get()
    return [field for field in fields if stored[field] != values[field]]


def mailbox_save(
    *,
    tenant: Tenant,
    actor: User,
    values: dict[str, object],
    password: str,
    mailbox: MailboxSource | None = None,
    request: HttpRequest | None = None,
) -> MailboxSource:
    """Create or change a mailbox; an empty ``password`` keeps the stored one, which is only
    allowed while the mailbox's server, port, security and user name stay the same."""
    with transaction.atomic():
        created = mailbox is None
        if not password and mailbox_needs_password(mailbox, values):
            raise ValueError("The password is needed again: it was stored for another server.")
        new_uids = bool(_changed(mailbox, values, UID_BOUND))
        mailbox = mailbox or MailboxSource(tenant=tenant)
        for field in FIELDS:
            setattr(mailbox, field, values[field])
        if password:
            mailbox.password_encrypted = secret_encrypt(password)
        if new_uids:
            mailbox.uidvalidity, mailbox.last_uid = None, 0
        mailbox.save()
        verb = "Added" if created else "Changed"
        audit_record(
            tenant=tenant, actor=actor, action="mailbox.saved",
            summary=f"{verb} the mailbox {mailbox}", request=request,
        )  # fmt: skip
    return mailbox


def mailbox_set_active(
    *, mailbox: MailboxSource, active: bool, actor: User, request: HttpRequest | None = None
) -> None:
    with transaction.atomic():
        MailboxSource.objects.filter(pk=mailbox.pk).update(active=active)
        verb = "Resumed" if active else "Paused"
        audit_record(
            tenant=mailbox.tenant, actor=actor, action=f"mailbox.{verb.lower()}",
            summary=f"{verb} the mailbox {mailbox}", request=request,
        )  # fmt: skip


def mailbox_remove(
    *, mailbox: MailboxSource, actor: User, request: HttpRequest | None = None
) -> None:
    """Stop polling and forget the mailbox; messages already taken stay."""
    with transaction.atomic():
        audit_record(
            tenant=mailbox.tenant, actor=actor, action="mailbox.removed",
            summary=f"Removed the mailbox {mailbox}", request=request,
        )  # fmt: skip
        mailbox.delete()
