"""The domain dashboard says, beside each reported failure, what the latest MX TLS probe
of that MX sees: the failure confirmed, or fixed since the last failure day."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.models import Tenant
from domains.findings import Finding, Level
from domains.models import CheckKind, CheckStatus, DnsCheck, Domain
from reports.dashboards.periods import Period
from reports.dashboards.probe_notes import ProbeNote, failure_rows, probe_notes
from tests.factories import make_domain
from tests.reports.helpers import ingest
from tests.reports.mail import report_email, report_json

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()
MX = "mx2.example.org"


def day(n: int) -> date:
    return TODAY - timedelta(days=n)


def at(n: int) -> str:
    return datetime.combine(day(n), datetime.min.time(), tzinfo=UTC).isoformat()


@pytest.fixture
def domain(acme: Tenant) -> Domain:
    return make_domain(acme, "example.org", mx_hosts=[MX])


def google_reports(
    tenant: Tenant, days: list[int], result_type: str = "certificate-expired"
) -> None:
    """Google's daily reports, shaped as Google sends them, with failures at MX."""
    for n in days:
        document = report_json(
            domain="example.org", organization="Google LLC", day=day(n).isoformat(), failed=3
        )
        document["contact-info"] = "smtp-tls-reporting@google.com"
        detail = document["policies"][0]["failure-details"][0]
        detail["result-type"] = result_type
        detail["receiving-mx-hostname"] = MX
        detail["sending-mta-ip"] = "209.85.220.41"
        ingest(tenant, report_email(document))


def probe(domain: Domain, host: dict, *, findings: tuple[Finding, ...] = ()) -> DnsCheck:
    record = {
        "starttls": True, "tls_version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384",
        "trusted": True, "error_code": "", "probed_at": timezone.now().isoformat(),
    }  # fmt: skip
    record.update(host)
    with scopes_disabled():
        return DnsCheck.objects.create(
            tenant=domain.tenant, domain=domain, kind=CheckKind.MX_TLS, status=CheckStatus.ERROR,
            findings=[f.as_dict() for f in findings], records={"hosts": {MX: record}},
        )  # fmt: skip


def certificate(not_before: str, not_after: str, sans: list[str] = [MX]) -> dict:  # noqa: B006
    return {
        "subject": f"CN={sans[0]}", "sans": sans, "issuer": "CN=R11, O=Let's Encrypt",
        "not_before": not_before, "not_after": not_after, "key_type": "RSA", "key_bits": 2048,
        "sha256": "ab" * 32, "spki_sha256": "cd" * 32,
    }  # fmt: skip


def dashboard(client: Client, domain: Domain) -> str:
    response = client.get(reverse("domain_dashboard", args=["acme", domain.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_probe_confirms_a_reported_expired_certificate(acme, owner, domain) -> None:
    google_reports(acme, [3, 4, 5])
    expired = Finding(Level.ERROR, "certificate_expired", f"The certificate of {MX} expired.")
    probe(
        domain, {"certificate": certificate(at(400), at(7)), "trusted": False}, findings=(expired,)
    )
    page = dashboard(owner, domain)
    assert (
        f"certificate-expired reported by Google LLC for {MX} on 3 days — the probe confirms: "
        f"the certificate expired on {day(7).isoformat()}"
    ) in page
    assert 'data-verdict="confirmed"' in page


def test_a_certificate_issued_after_the_last_failure_day_is_fixed(acme, owner, domain) -> None:
    google_reports(acme, [3, 4, 5])
    probe(domain, {"certificate": certificate(at(1), at(-89))})
    page = dashboard(owner, domain)
    assert (
        f"certificate-expired reported by Google LLC for {MX} on 3 days — the probe now sees "
        f"a valid certificate since {day(1).isoformat()}: fixed"
    ) in page
    assert 'data-verdict="fixed"' in page


def test_a_valid_certificate_older_than_the_failures_is_not_fixed(acme, owner, domain) -> None:
    google_reports(acme, [3])
    probe(domain, {"certificate": certificate(at(30), at(-60))})
    page = dashboard(owner, domain)
    assert 'data-verdict="differs"' in page
    assert ": fixed" not in page


def test_without_a_probe_nothing_is_said_of_probes(acme, owner, domain) -> None:
    google_reports(acme, [3])
    page = dashboard(owner, domain)
    assert "probe-notes" not in page and "the probe" not in page


def test_a_name_mismatch_is_judged_against_the_certificate_names(acme, domain) -> None:
    google_reports(acme, [2], result_type="certificate-host-mismatch")
    wrong = probe(
        domain, {"certificate": certificate(at(30), at(-60), sans=["mail.other.example"])}
    )
    period = Period(day(10), TODAY)
    with scopes_disabled():
        rows = failure_rows(domain, period)
    (note,) = probe_notes(rows, wrong)
    assert note.verdict == "confirmed" and "names mail.other.example, not mx2" in note.probe
    wildcard = probe(domain, {"certificate": certificate(at(1), at(-60), sans=["*.example.org"])})
    assert [n.verdict for n in probe_notes(rows, wildcard)] == ["fixed"]


def test_starttls_not_offered_and_no_certificate_are_said_plainly(acme, domain) -> None:
    google_reports(acme, [2], result_type="starttls-not-supported")
    with scopes_disabled():
        rows = failure_rows(domain, Period(day(10), TODAY))
    missing = probe(
        domain, {"starttls": False, "certificate": None, "error_code": "starttls_missing"}
    )
    notes: list[ProbeNote] = probe_notes(rows, missing)
    assert [n.verdict for n in notes] == ["confirmed"]
    assert "STARTTLS was not offered" in notes[0].text
