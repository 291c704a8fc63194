"""The domain dashboard explains a split between reporters: one organization's sts
sessions all succeed on a day another reports sts-policy-fetch-error for the same policy
domain. The MTA-STS check's findings name the likely cause; without them, the known
causes are listed."""

import json
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.models import Tenant
from domains.findings import Finding, Level
from domains.models import CheckKind, CheckStatus, DnsCheck, Domain
from reports.dashboards.disagreements import clean_organizations, disagreements
from reports.dashboards.periods import Period
from reports.dashboards.probe_notes import failure_rows
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import corpus, ingest
from tests.reports.mail import report_email, report_json

pytestmark = pytest.mark.django_db

DAY = (timezone.now().date() - timedelta(days=2)).isoformat()


@pytest.fixture
def domain(acme: Tenant) -> Domain:
    return make_domain(acme, "example.org", mx_hosts=["mx.example.org"])


def split(tenant: Tenant, name: str = "example.org") -> None:
    """Google: every sts session of DAY succeeded; Microsoft: sts-policy-fetch-error."""
    google = report_json(domain=name, organization="Google LLC", day=DAY, failed=0)
    ingest(tenant, report_email(google))
    microsoft = json.loads(corpus("microsoft-2025-06-sts-fetch-error-no-ip-no-mx.json"))
    microsoft["date-range"] = {
        "start-datetime": f"{DAY}T00:00:00Z", "end-datetime": f"{DAY}T23:59:59Z"
    }  # fmt: skip
    microsoft["policies"][0]["policy"]["policy-domain"] = name
    ingest(tenant, json.dumps(microsoft).encode(), filename="microsoft.json")


def sts_check(domain: Domain, *findings: Finding) -> None:
    with scopes_disabled():
        DnsCheck.objects.create(
            tenant=domain.tenant, domain=domain, kind=CheckKind.MTA_STS,
            status=CheckStatus.ERROR if findings else CheckStatus.OK,
            findings=[f.as_dict() for f in findings],
        )  # fmt: skip


def dashboard(client: Client, domain: Domain) -> str:
    response = client.get(reverse("domain_dashboard", args=[domain.tenant.slug, domain.pk]))
    assert response.status_code == 200
    return response.content.decode()


def section(page: str) -> str:
    start = page.index('id="disagreements"')
    return page[start : page.index("</section>", start)]


def test_a_wrong_content_type_is_named_as_the_likely_cause(acme, owner, domain) -> None:
    split(acme)
    sts_check(
        domain,
        Finding(
            Level.ERROR,
            "sts_fetch_content_type",
            "The policy at https://mta-sts.example.org/.well-known/mta-sts.txt is served as "
            "text/html.",
            "Serve the policy with 'Content-Type: text/plain'.",
        ),
    )
    shown = section(dashboard(owner, domain))
    assert (
        "<strong>Microsoft Corporation</strong> reported <code>sts-policy-fetch-error</code>"
        in shown
    )
    assert f"<strong>Google LLC</strong> succeeded, on 1 day: {DAY}" in shown
    assert 'data-causes="likely"' in shown and 'data-cause="content_type"' in shown
    assert "is served as text/html" in shown
    assert 'data-cause="client_refused"' not in shown


def test_a_redirect_is_named_from_the_fetch_status_finding(acme, owner, domain) -> None:
    split(acme)
    moved = "The server answered HTTP 301 (to https://www.example.org/mta-sts.txt)."
    sts_check(domain, Finding(Level.ERROR, "sts_fetch_status", moved, "Serve it with 200."))
    shown = section(dashboard(owner, domain))
    assert 'data-cause="redirect"' in shown and "answered HTTP 301" in shown


def test_without_evidence_the_known_causes_are_listed(acme, owner, domain) -> None:
    split(acme)
    sts_check(domain)
    shown = section(dashboard(owner, domain))
    assert 'data-causes="candidates"' in shown
    for cause in ("client_refused", "redirect", "content_type"):
        assert f'data-cause="{cause}"' in shown
    assert "without a User-Agent" in shown


def test_reporters_that_agree_show_no_split(acme, owner, domain) -> None:
    microsoft = report_json(domain="example.org", organization="Microsoft Corporation", day=DAY)
    google = report_json(domain="example.org", organization="Google LLC", day=DAY)
    for document in (microsoft, google):
        ingest(acme, report_email(document))
    assert 'id="disagreements"' not in dashboard(owner, domain)


def test_another_tenants_reports_do_not_make_a_split(acme, owner, domain) -> None:
    other = make_tenant("globex")
    make_domain(other, "example.org")
    split(other)
    microsoft = json.loads(corpus("microsoft-2025-06-sts-fetch-error-no-ip-no-mx.json"))
    microsoft["date-range"] = {
        "start-datetime": f"{DAY}T00:00:00Z", "end-datetime": f"{DAY}T23:59:59Z"
    }  # fmt: skip
    microsoft["policies"][0]["policy"]["policy-domain"] = "example.org"
    ingest(acme, json.dumps(microsoft).encode(), filename="microsoft.json")
    assert 'id="disagreements"' not in dashboard(owner, domain)


def test_a_dane_split_lists_cached_tlsa_records_not_a_cached_policy(acme, domain) -> None:
    google = report_json(domain="example.org", organization="Google LLC", day=DAY, failed=0)
    microsoft = report_json(
        domain="example.org", organization="Microsoft Corporation", day=DAY, policy_type="tlsa"
    )
    microsoft["policies"][0]["failure-details"][0]["result-type"] = "tlsa-invalid"
    google["policies"][0]["policy"]["policy-type"] = "tlsa"
    for document in (google, microsoft):
        ingest(acme, report_email(document))
    period = Period(date.fromisoformat(DAY), date.fromisoformat(DAY))
    with scopes_disabled():
        rows = failure_rows(domain, period)
        clean = clean_organizations(domain, period)
    (found,) = disagreements(rows, clean, None, domain.name)
    assert (found.policy_type, found.result_type) == ("tlsa", "tlsa-invalid")
    assert found.mx == ("mx.example.org",) and found.succeeding == ("Google LLC",)
    assert [c.code for c in found.candidates] == ["tlsa_cache", "several_servers"]
