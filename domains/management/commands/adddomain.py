"""``manage.py adddomain SLUG DOMAIN [--verified | --by-record]``: domains for operators.

``--verified`` vouches for the domain: it is verified without an ownership record and
stays so until an operator runs ``--by-record``, which hands it back to the record.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scope

from accounts.models import Tenant
from domains.models import Domain
from domains.names import DomainNameError, normalize_domain
from domains.verification import domain_operator_release, domain_operator_verify


class Command(BaseCommand):
    help = (
        "Add DOMAIN to tenant SLUG. --verified: verified by an operator, no DNS record needed, "
        "until --by-record hands it back to its ownership record."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("domain")
        how = parser.add_mutually_exclusive_group()
        how.add_argument(
            "--verified", action="store_true", help="Verify it on your word, for good."
        )
        how.add_argument(
            "--by-record",
            action="store_true",
            help="Let its ownership TXT record decide again (undoes --verified).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = Tenant.objects.get(slug=options["slug"])
            name = normalize_domain(options["domain"])
        except Tenant.DoesNotExist:
            raise CommandError(f"No tenant with slug {options['slug']!r}.") from None
        except DomainNameError as e:
            raise CommandError(str(e)) from None
        with scope(tenant=tenant):
            domain, created = Domain.objects.get_or_create(tenant=tenant, name=name)
            if options["verified"]:
                domain_operator_verify(domain=domain)
            elif options["by_record"]:
                domain_operator_release(domain=domain)
            domain.refresh_from_db()
        verb = "Added" if created else "Already had"
        line = f"{verb} {name} for {tenant.slug} ({_state(domain)})."
        self.stdout.write(self.style.SUCCESS(line))
        if not domain.is_verified:
            self.stdout.write(f'Publish: _tlsrpt-verify.{name} TXT "{domain.verification_token}"')


def _state(domain: Domain) -> str:
    if domain.verified_by_operator:
        return "verified by an operator"
    return "verified by its ownership record" if domain.is_verified else "pending verification"
