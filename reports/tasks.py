"""Celery tasks for reports: thin wrappers that load, scope and call ``reports.ingest``."""

import logging
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from reports.ingest import Outcome, message_fail, message_run
from reports.models import InboundMessage, Status

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=6,
)
def process_inbound(message_id: int) -> str:
    """Find, parse and store the reports of one inbound message (idempotent)."""
    try:
        return message_run(message_id=message_id).status
    except InboundMessage.DoesNotExist:
        return "missing"
    except SoftTimeLimitExceeded:
        outcome = Outcome(Status.FAILED, "processing_timeout", "Processing took too long.")
        return message_fail(message_id=message_id, outcome=outcome).status


@shared_task
def requeue_stale_inbound(older_than_minutes: int = 30) -> int:
    """Queue again messages still waiting after a while (lost task, broker flushed)."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    with scopes_disabled():
        ids = list(
            InboundMessage.objects.filter(status=Status.RECEIVED, received_at__lt=cutoff)
            .order_by("received_at")
            .values_list("pk", flat=True)[:1000]
        )
    for message_id in ids:
        process_inbound.delay(message_id)
    if ids:
        logger.info("Requeued %d stale inbound messages", len(ids))
    return len(ids)


@shared_task
def queue_unqueued_inbound() -> int:
    """Queue the messages whose queueing failed while the broker was down."""
    with scopes_disabled():
        ids = list(
            InboundMessage.objects.filter(
                status=Status.RECEIVED, queue_failed_at__isnull=False
            ).values_list("pk", flat=True)[:1000]
        )
    for message_id in ids:
        process_inbound.delay(message_id)
        with scopes_disabled():
            InboundMessage.objects.filter(pk=message_id).update(queue_failed_at=None)
    return len(ids)


@shared_task(acks_late=True)
def poll_mailbox(mailbox_id: int) -> str:
    """Take the new messages of one IMAP mailbox (see reports.inbound.imap)."""
    from reports.inbound.imap import mailbox_poll
    from reports.models import MailboxSource

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


@shared_task
def poll_mailboxes() -> int:
    """Queue a poll of every active mailbox."""
    from reports.models import MailboxSource

    with scopes_disabled():
        ids = list(MailboxSource.objects.filter(active=True).values_list("pk", flat=True))
    for mailbox_id in ids:
        poll_mailbox.delay(mailbox_id)
    return len(ids)
