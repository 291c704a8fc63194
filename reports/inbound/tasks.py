"""Celery tasks of the IMAP door: a poll per active mailbox (queue ingest).

Task names stay ``reports.tasks.*``, as before the move into this package."""

from celery import shared_task

from accounts.tenancy import row_scope
from reports.inbound.imap import mailbox_poll
from reports.inbound.models import MailboxSource
from reports.inbound.sweeps import mailboxes_to_poll


@shared_task(name="reports.tasks.poll_mailbox", acks_late=True)
def poll_mailbox(mailbox_id: int) -> str:
    """Take the new messages of one IMAP mailbox (see reports.inbound.imap)."""
    with row_scope(MailboxSource, mailbox_id) as mailbox:
        if mailbox is None:
            return "missing"
        result = mailbox_poll(mailbox_id=mailbox.pk)
    if result is None:
        return "busy"
    return result.error or f"stored {result.stored}"


@shared_task(name="reports.tasks.poll_mailboxes")
def poll_mailboxes() -> int:
    """Queue a poll of every active mailbox."""
    ids = mailboxes_to_poll()
    for mailbox_id in ids:
        poll_mailbox.delay(mailbox_id)
    return len(ids)
