"""``manage.py rotate_secrets``: re-encrypt stored secrets with the newest key.

Put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), run this,
then remove the old keys.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.tenancy import across_tenants
from reports.inbound.secrets import secret_rotate
from reports.models import MailboxSource, WebhookEndpoint


class Command(BaseCommand):
    help = (
        "Re-encrypt mailbox passwords and webhook secrets with the first key of "
        "FIELD_ENCRYPTION_KEYS."
    )

    def handle(self, *args: object, **options: object) -> None:
        count = 0
        with (
            across_tenants("operator command: re-encrypts every tenant's mailbox passwords"),
            transaction.atomic(),
        ):
            for mailbox in MailboxSource.objects.select_for_update().only("password_encrypted"):
                mailbox.password_encrypted = secret_rotate(mailbox.password_encrypted)
                mailbox.save(update_fields=["password_encrypted"])
                count += 1
        self.stdout.write(f"Re-encrypted {count} mailbox password(s).")
        self.stdout.write(f"Re-encrypted {webhook_secrets_rotate()} webhook endpoint(s).")


def webhook_secrets_rotate() -> int:
    """Re-encrypt every webhook endpoint's secrets (the previous one too, while kept)."""
    count = 0
    with (
        across_tenants("operator command: re-encrypts every tenant's webhook secrets"),
        transaction.atomic(),
    ):
        for endpoint in WebhookEndpoint.objects.select_for_update().only(
            "secret_encrypted", "previous_secret_encrypted"
        ):
            endpoint.secret_encrypted = secret_rotate(endpoint.secret_encrypted)
            if endpoint.previous_secret_encrypted:
                previous = secret_rotate(endpoint.previous_secret_encrypted)
                endpoint.previous_secret_encrypted = previous
            endpoint.save(update_fields=["secret_encrypted", "previous_secret_encrypted"])
            count += 1
    return count
