"""A domain an operator verified (``adddomain --verified``): no ownership record needed.

It is never shown as failing for want of the record, the periodic check never unverifies
it, its health checks still run, and only an operator hands it back to the record.
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.models import AuditEvent, Tenant
from domains.models import DnsCheck, Domain
from domains.tasks import check_domain_health, queue_health_checks
from domains.verification import domain_check
from tests.dnsserver import ZoneResolver
from tests.factories import make_domain

pytestmark = pytest.mark.django_db


def adddomain(*args: str) -> str:
    out = StringIO()
    call_command("adddomain", "acme", "example.org", *args, stdout=out)
    return out.getvalue()


def load(name: str = "example.org") -> Domain:
    with scopes_disabled():
        return Domain.objects.get(name=name)


def test_adddomain_verified_says_an_operator_verified_it(acme: Tenant) -> None:
    out = adddomain("--verified")

    domain = load()
    assert "Added example.org for acme (verified by an operator)." in out
    assert "Publish:" not in out
    assert (domain.state, domain.verified_by) == ("verified", "operator")
    with scopes_disabled():
        event = AuditEvent.objects.get(action="domain.verified")
    assert "by an operator" in event.summary


def test_its_page_and_the_overview_never_show_failing_without_the_record(
    acme: Tenant, owner: Client, dns: ZoneResolver
) -> None:
    adddomain("--verified")
    domain = load()

    owner.post(reverse("domain_check", args=["acme", domain.pk]))  # no record published

    domain.refresh_from_db()
    assert domain.state == "verified"
    detail = owner.get(reverse("domain_detail", args=["acme", domain.pk])).content.decode()
    assert 'data-state="verified"' in detail and 'data-state="failing"' not in detail
    assert "Verified by an operator" in detail
    assert 'id="ownership-not-needed"' in detail
    for page in ("tenant_home", "domain_list"):
        html = owner.get(reverse(page, args=["acme"])).content.decode()
        assert 'data-state="verified"' in html and 'data-state="failing"' not in html


def test_the_periodic_check_keeps_it_verified_past_the_unverify_delay(
    acme: Tenant, dns: ZoneResolver, django_capture_on_commit_callbacks
) -> None:
    adddomain("--verified")
    long_ago = timezone.now() - timedelta(days=30)
    with scopes_disabled():
        Domain.objects.filter(name="example.org").update(
            verified_at=long_ago, ownership_missing_since=long_ago
        )
        assert queue_health_checks() == 1  # still among the verified domains checked daily

    with django_capture_on_commit_callbacks(execute=True):
        check_domain_health(load().pk)
        check_domain_health(load().pk)

    domain = load()
    assert domain.is_verified and domain.state == "verified"
    assert domain.ownership_missing_since is None
    assert mail.outbox == []
    with scopes_disabled():
        assert not AuditEvent.objects.filter(action="domain.unverified").exists()
        kinds = set(DnsCheck.objects.filter(domain=domain).values_list("kind", flat=True))
    assert kinds == {"tlsrpt", "mta_sts", "mx", "dane"}  # health checks still run


def test_an_operator_can_take_over_a_domain_verified_by_its_record(
    acme: Tenant, dns: ZoneResolver
) -> None:
    make_domain(acme, "example.org")
    with scope(tenant=acme):
        domain_check(domain=load())
    assert load().state == "failing"

    out = adddomain("--verified")

    assert "Already had example.org for acme (verified by an operator)." in out
    assert load().state == "verified"


def test_by_record_hands_it_back_to_the_ownership_record(acme: Tenant, dns: ZoneResolver) -> None:
    adddomain("--verified")

    out = adddomain("--by-record")
    with scope(tenant=acme):
        domain_check(domain=load())

    domain = load()
    assert "(verified by its ownership record)" in out
    assert (domain.state, domain.verified_by) == ("failing", "dns")
    assert domain.ownership_missing_since is not None
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="domain.record_required").count() == 1


def test_a_domain_verified_by_its_record_is_marked_so(acme: Tenant, dns: ZoneResolver) -> None:
    out = adddomain()
    domain = load()
    assert "(pending verification)" in out and f'"{domain.verification_token}"' in out
    dns.add_txt(domain.verification_name, domain.verification_token)

    with scope(tenant=acme):
        domain_check(domain=domain)

    domain = load()
    assert (domain.state, domain.verified_by) == ("verified", "dns")
