"""``manage.py adddomain SLUG DOMAIN [--verified]``: add a domain for operators."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django_scopes import scope

from accounts.models import Tenant
from domains.models import Domain
from domains.names import DomainNameError, normalize_domain


class Command(BaseCommand):
    help = "Add DOMAIN to tenant SLUG; --verified marks it verified without a DNS check."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("domain")
        parser.add_argument("--verified", action="store_true")

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
            if options["verified"] and not domain.verified_at:
                domain.verified_at = timezone.now()
                domain.save(update_fields=["verified_at"])
        state = "verified" if domain.verified_at else "pending verification"
        verb = "Added" if created else "Already had"
        self.stdout.write(self.style.SUCCESS(f"{verb} {name} for {tenant.slug} ({state})."))
        if not domain.verified_at:
            self.stdout.write(f'Publish: _tlsrpt-verify.{name} TXT "{domain.verification_token}"')
