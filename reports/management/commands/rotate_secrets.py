"""``manage.py rotate_secrets``: re-encrypt stored secrets with the newest key.

Put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), run this,
then remove the old keys.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.tenancy import across_tenants
from reports.inbound.secrets import secret_rotate
from reports.models import MailboxSource


class Command(BaseCommand):
    help = "Re-encrypt mailbox passwords with the first key of FIELD_ENCRYPTION_KEYS."

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
