"""``manage.py reprocess``: queue failed (or unattributed) messages again."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.tenancy import across_tenants
from reports.ingest.messages import message_reprocess
from reports.models import InboundMessage, Status


class Command(BaseCommand):
    help = "Queue failed inbound messages for processing again (after a fix or a new domain)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Message ids (default: all failed).")
        parser.add_argument("--tenant", help="Only this tenant's messages (slug).")
        parser.add_argument("--error-code", help="Only messages that failed with this code.")
        parser.add_argument(
            "--unattributed", action="store_true", help="Also unattributed messages."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        statuses = [Status.FAILED] + ([Status.UNATTRIBUTED] if options["unattributed"] else [])
        with across_tenants("operator command: picks failed messages of any tenant"):
            messages = InboundMessage.objects.filter(status__in=statuses).only("pk", "tenant_id")
            if options["ids"]:
                messages = messages.filter(pk__in=options["ids"])
            if options["tenant"]:
                messages = messages.filter(tenant__slug=options["tenant"])
            if options["error_code"]:
                messages = messages.filter(error_code=options["error_code"])
            chosen = list(messages.order_by("pk"))
        # Each in its own tenant's scope (message_reprocess enters it).
        queued = sum(message_reprocess(message=m) for m in chosen)
        self.stdout.write(self.style.SUCCESS(f"Queued {queued} message(s) for processing."))
