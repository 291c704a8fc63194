"""``manage.py demo``: a tenant "Demo" with months of real-looking reports, to look around.

Run again, it builds the tenant afresh (dated back from today). Its owner logs in as
``demo@example.com`` with the password given (``--password``).
"""

from time import monotonic
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from reports.demo.generate import OWNER_EMAIL, NotTheDemo, demo_build
from reports.demo.scenario import DAYS


class Command(BaseCommand):
    help = "Create (or rebuild) the demo tenant with six months of reports, checks and alerts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password", default="demo-password", help="The demo owner's password."
        )
        parser.add_argument(
            "--days", type=int, default=DAYS, help="Days of daily reports (default: %(default)s)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = monotonic()
        try:
            built = demo_build(password=options["password"], days=options["days"])
        except NotTheDemo as e:
            raise CommandError(f"{e} Nothing was changed.") from None
        home = reverse("tenant_home", kwargs={"slug": built.tenant.slug})
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo tenant built in {monotonic() - started:.1f} s: {built.messages} "
                f"messages processed. Log in as {OWNER_EMAIL} (password "
                f"{options['password']!r}) and open {home}"
            )
        )
