"""``manage.py createtenant SLUG --owner EMAIL``: create a tenant for operators."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.tenants import tenant_create


class Command(BaseCommand):
    help = "Create a tenant owned by EMAIL (the user is created, unusable password, if new)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--owner", required=True, metavar="EMAIL")
        parser.add_argument("--name", help="Display name (default: the slug).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = tenant_create(
                slug=options["slug"], owner_email=options["owner"], name=options["name"]
            )
        except ValueError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(self.style.SUCCESS(f"Created tenant {tenant.slug}."))
        self.stdout.write(f"Reports address (rua=mailto:): {tenant.inbound_address}")
        self.stdout.write(f"HTTPS report URL (rua=https:): {tenant.https_rua_url}")
