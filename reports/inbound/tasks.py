"""Celery tasks of the IMAP door: a poll per active mailbox (queue ingest).

Task names stay ``reports.tasks.*``, as before the move into this package."""

from celery import shared_task
from django_scopes import scope, scopes_disabled

from reports.inbound.imap import mailbox_poll
from reports.inbound.models import MailboxSource


@shared_task(name="reports.tasks.poll_mailbox", acks_late=True)
def poll_mailbox(mailbox_id: int) -> str:
    """Take the new messages of one IMAP mailbox (see reports.inbound.imap)."""
    with scopes_disabled():
        tenant_id = (
            MailboxSource.objects.filter(pk=mailbox_id).values_list("tenant_id", flat=True).first()
        )
    if tenant_id is None:
        return "missing"
    with scope(tenant=tenant_id):
        result = mailbox_poll(mailbox_id=mailbox_id)
    if result is None:
        return "busy"
    return result.error or f"stored {result.stored}"


@shared_task(name="reports.tasks.poll_mailboxes")
def poll_mailboxes() -> int:
    """Queue a poll of every active mailbox."""
    with scopes_disabled():
        ids = list(MailboxSource.objects.filter(active=True).values_list("pk", flat=True))
    for mailbox_id in ids:
        poll_mailbox.delay(mailbox_id)
    return len(ids)
