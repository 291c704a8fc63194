"""Domains in the web UI: add with validation, the records to publish, check, remove."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from accounts.models import AuditEvent, Tenant
from domains.models import Domain
from reports.models import DailyStat, Report
from tests.dnsserver import ZoneResolver
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import ingest
from tests.reports.mail import report_email, report_json

pytestmark = pytest.mark.django_db


def add(client: Client, name: str):
    return client.post(reverse("domain_list", args=["acme"]), {"name": name})


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("192.0.2.1", "is an IP address"),
        ("https://example.com/", "is not a domain name"),
        ("localhost", "localhost cannot receive mail"),
        ("co.uk", "is a public suffix"),
        ("mail.internal", "is not under a public suffix"),
        ("a" * 64 + ".com", "longer than 63 characters"),
        ("exa_mple.com", "has an invalid label"),
        ("", "This field is required"),
    ],
)
def test_bad_domains_get_a_clear_error(owner: Client, value: str, error: str) -> None:
    response = add(owner, value)
    assert response.status_code == 200
    assert error in response.content.decode()
    with scopes_disabled():
        assert not Domain.objects.exists()


def test_add_this_domain_from_the_ingest_log_comes_filled_in(owner: Client) -> None:
    page = owner.get(reverse("domain_list", args=["acme"]) + "?name=not-yet.example")

    assert page.context["form"]["name"].value() == "not-yet.example"
    assert 'value="not-yet.example"' in page.content.decode()


def test_a_domain_is_normalised_and_added_once(acme: Tenant, owner: Client) -> None:
    response = add(owner, " Bücher.Example.DE. ")
    with scope(tenant=acme):
        domain = Domain.objects.get()
    assert domain.name == "xn--bcher-kva.example.de"
    assert response["Location"] == reverse("domain_detail", args=["acme", domain.pk])

    again = add(owner, "xn--bcher-kva.example.de")
    assert "already one of this tenant" in again.content.decode()
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="domain.added").count() == 1


def test_the_domain_page_shows_exactly_what_to_publish(acme: Tenant, owner: Client) -> None:
    domain = make_domain(acme, "example.org", verified=False)
    page = owner.get(reverse("domain_detail", args=["acme", domain.pk])).content.decode()

    assert '<td class="copy-target" id="verify-name">_tlsrpt-verify.example.org</td>' in page
    assert f'id="verify-value">{domain.verification_token}</td>' in page
    assert '<td class="copy-target" id="tlsrpt-name">_smtp._tls.example.org</td>' in page
    record = f"v=TLSRPTv1; rua=mailto:{acme.inbound_token}@reports.localhost"
    assert f'id="tlsrpt-value">{record}</td>' in page


def test_check_now_verifies_once_the_record_is_published(
    acme: Tenant, owner: Client, dns: ZoneResolver
) -> None:
    domain = make_domain(acme, "example.org", verified=False)
    check = reverse("domain_check", args=["acme", domain.pk])

    owner.post(check)
    domain.refresh_from_db()
    assert (domain.state, domain.check_ok) == ("pending", False)
    assert domain.check_message == "No TXT record found at _tlsrpt-verify.example.org."

    dns.add_txt("_tlsrpt-verify.example.org", "someone-elses-token")
    owner.post(check)
    domain.refresh_from_db()
    assert "none holds this domain's token" in domain.check_message

    dns.add_txt("_tlsrpt-verify.example.org", domain.verification_token)
    dns.add_txt("_smtp._tls.example.org", f"v=TLSRPTv1; rua=mailto:{acme.inbound_address}")
    response = owner.post(check, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert 'data-state="verified"' in response.content.decode()  # the htmx fragment
    domain.refresh_from_db()
    assert domain.state == "verified" and domain.tlsrpt_ok
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="domain.verified").count() == 1


def test_a_dns_failure_changes_nothing(acme: Tenant, owner: Client, dns: ZoneResolver) -> None:
    domain = make_domain(acme, "example.org")
    dns.servfail.add("_tlsrpt-verify.example.org")

    owner.post(reverse("domain_check", args=["acme", domain.pk]))

    domain.refresh_from_db()
    assert domain.state == "verified" and domain.check_ok is None
    assert "no definitive answer" in domain.check_message


def test_a_verified_domain_whose_record_is_gone_shows_failing(acme: Tenant, owner: Client) -> None:
    domain = make_domain(acme, "example.org")
    owner.post(reverse("domain_check", args=["acme", domain.pk]))
    domain.refresh_from_db()
    assert domain.state == "failing" and domain.is_verified
    listing = owner.get(reverse("domain_list", args=["acme"])).content.decode()
    assert 'data-state="failing"' in listing


def test_the_tlsrpt_record_must_point_at_this_tenant(
    acme: Tenant, owner: Client, dns: ZoneResolver
) -> None:
    domain = make_domain(acme, "example.org")
    dns.add_txt("_smtp._tls.example.org", "v=TLSRPTv1; rua=mailto:reports@elsewhere.example")
    owner.post(reverse("domain_check", args=["acme", domain.pk]))
    domain.refresh_from_db()
    assert domain.tlsrpt_ok is False
    assert "not to us" in domain.tlsrpt_message


def test_removing_a_domain_takes_its_reports_and_keeps_shared_ones(
    acme: Tenant, owner: Client
) -> None:
    gone, kept = make_domain(acme, "gone.example"), make_domain(acme, "kept.example")
    ingest(acme, report_email(report_json(domain="gone.example", report_id="only-gone")))
    shared = report_json(domain="gone.example", report_id="shared")
    shared["policies"].append(report_json(domain="kept.example")["policies"][0])
    ingest(acme, json.dumps(shared).encode())

    assert (
        b"Remove gone.example"
        in owner.get(reverse("domain_delete", args=["acme", gone.pk])).content
    )
    owner.post(reverse("domain_delete", args=["acme", gone.pk]))

    with scope(tenant=acme):
        assert list(Domain.objects.values_list("name", flat=True)) == ["kept.example"]
        assert list(Report.objects.values_list("report_id", flat=True)) == ["shared"]
        assert set(DailyStat.objects.values_list("domain_id", flat=True)) == {kept.pk}


def test_onboarding_checklist_follows_the_steps(
    acme: Tenant, owner: Client, dns: ZoneResolver
) -> None:
    def done() -> list[str]:
        page = owner.get(reverse("tenant_home", args=["acme"])).content.decode()
        return [line for line in page.splitlines() if 'data-done="true"' in line]

    assert done() == []
    domain = make_domain(acme, "example.org", verified=False)
    assert len(done()) == 1
    dns.add_txt("_tlsrpt-verify.example.org", domain.verification_token)
    dns.add_txt("_smtp._tls.example.org", f"v=TLSRPTv1; rua=mailto:{acme.inbound_address}")
    owner.post(reverse("domain_check", args=["acme", domain.pk]))
    assert len(done()) == 3
    ingest(acme, report_email(report_json(domain="example.org")))
    page = owner.get(reverse("tenant_home", args=["acme"])).content.decode()
    assert "Getting started" not in page


def test_pending_domains_are_checked_by_the_worker(
    transactional_db: None, celery_worker: object, dns: ZoneResolver
) -> None:
    from domains.tasks import check_pending_domains
    from tests.conftest import wait_until

    tenant = make_tenant("acme")
    domain = make_domain(tenant, "example.org", verified=False)
    dns.add_txt("_tlsrpt-verify.example.org", domain.verification_token)

    assert check_pending_domains.delay() is not None

    def verified() -> bool:
        domain.refresh_from_db()
        return domain.is_verified

    wait_until(verified, timeout=30)
