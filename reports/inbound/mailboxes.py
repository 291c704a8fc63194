"""Adding, changing and removing a tenant's IMAP mailboxes (the password encrypted)."""

from django.db import transaction
from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.models import Tenant, User
from reports.inbound.secrets import secret_encrypt
from reports.models import MailboxSource

FIELDS = ("name", "host", "port", "tls_mode", "username", "folder", "processed_folder")


def mailbox_save(
    *,
    tenant: Tenant,
    actor: User,
    values: dict[str, object],
    password: str,
    mailbox: MailboxSource | None = None,
    request: HttpRequest | None = None,
) -> MailboxSource:
    """Create or change a mailbox; an empty ``password`` keeps the stored one."""
    with transaction.atomic():
        created = mailbox is None
        mailbox = mailbox or MailboxSource(tenant=tenant)
        for field in FIELDS:
            setattr(mailbox, field, values[field])
        if password:
            mailbox.password_encrypted = secret_encrypt(password)
        # A changed server or folder is a new mailbox as far as UIDs go.
        mailbox.uidvalidity, mailbox.last_uid = (
            (None, 0) if created else (mailbox.uidvalidity, mailbox.last_uid)
        )
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
