"""Which IMAP mailboxes of all tenants the beat polls: a read across tenants."""

from accounts.tenancy import across_tenants
from reports.inbound.models import MailboxSource


def mailboxes_to_poll() -> list[int]:
    """Every active mailbox, of every tenant; each poll enters its mailbox's tenant."""
    with across_tenants("beat: polls every tenant's active IMAP mailboxes"):
        return list(MailboxSource.objects.filter(active=True).values_list("pk", flat=True))
