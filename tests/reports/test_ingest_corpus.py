"""Every real report in the corpus (tests/data/corpus) ingests with the right numbers.

Figures read off the files by hand: (verified domain, policies, failure details,
sessions counted once for the domain (successful, failed), failure-detail rows' sum).
"""

import pytest
from django.db.models import QuerySet, Sum
from django_scopes import scope

from reports.models import (
    BreakdownKind,
    DailyBreakdown,
    DailyFailure,
    FailureDetail,
    PolicyResult,
    Report,
    Status,
)
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import corpus, corpus_files, domain_totals, ingest

EXPECTED = {
    "google-2019-12-sts-enforce-773-sessions-blog-prettified.json": ("example.com", 1, 0, 773, 0, 0),
    "google-2020-02-three-policies-validation-failures-mailflow.json": ("test.mailflow.ovh", 3, 8, 1, 13, 13),
    "google-2020-03-no-policy-found-fastmail.eml": ("fastmaildmarc.com", 1, 0, 343, 0, 0),
    "google-2020-03-no-policy-found-fastmail.json.gz": ("fastmaildmarc.com", 1, 0, 343, 0, 0),
    "google-2022-01-sts-digilicious.eml": ("digilicious.com", 1, 0, 5, 0, 0),
    "google-2022-09-xmox.eml": ("test.xmox.nl", 1, 0, 3, 0, 0),
    "google-2022-11-sts-testing-anonymised.json": ("example.com", 1, 0, 2, 0, 0),
    "google-2023-02-sts-blogreen-srs-forwarded.eml": ("blogreen.org", 1, 0, 1, 0, 0),
    "google-2024-01-sts-validation-failure-anonymised.json": ("example.com", 1, 2, 0, 3, 3),
    "google-2024-02-sts-enforce-53-sessions-anonymised.json": ("example.com", 1, 0, 53, 0, 0),
    "google-2024-09-15-sts-enforce-krvtz.eml": ("krvtz.net", 1, 0, 1, 0, 0),
    "google-2024-09-18-sts-enforce-krvtz.eml": ("krvtz.net", 1, 0, 2, 0, 0),
    "google-2024-09-no-policy-found-cardinalhealth.eml": ("cardinalhealth.ca", 1, 0, 48, 0, 0),
    "google-2025-03-no-policy-found.json": ("foo-bar.io", 1, 0, 1, 0, 0),
    "google-2025-04-no-policy-found-minified.json": ("domain.de", 1, 0, 2, 0, 0),
    "google-2025-05-sts-enforce-mxhost-array.json": ("foo-bar.io", 1, 0, 1, 0, 0),
    "google-2025-06-sts-wildcard-mx-migadu-reformatted.json": ("maxchernoff.ca", 1, 0, 3, 0, 0),
    "google-2026-05-11-sts-enforce-fastmail-anonymised.eml": ("example.com", 1, 0, 1, 0, 0),
    "google-2026-05-12-sts-enforce-fastmail-anonymised.eml": ("example.com", 1, 0, 4, 0, 0),
    "google-2026-08-sts-testing-karlsen.json": ("karlsen.fr", 1, 0, 2, 0, 0),
    "mailru-2023-01-sts-fetch-timeout-krvtz.eml": ("krvtz.net", 1, 1, 0, 1, 1),
    # Mail.ru lists two failures of 1 under a total of 1 (quirk 10): kept as sent.
    "mailru-2024-02-sts-fetch-error.json": ("example.com", 1, 2, 0, 1, 2),
    "microsoft-2023-01-no-timezone-xmox.eml": ("test.xmox.nl", 1, 0, 2, 0, 0),
    "microsoft-2024-02-sts-enforce-anonymised.json": ("example.com", 1, 0, 18, 0, 0),
    "microsoft-2024-03-no-timezone-anonymised.json": ("example.com", 1, 0, 7, 0, 0),
    # Microsoft reports the same sessions under sts and tlsa: counted once.
    "microsoft-2024-09-sts-and-tlsa-13-hashes-krvtz.eml": ("krvtz.net", 2, 0, 2, 0, 0),
    "microsoft-2024-10-tlsa-and-sts-ueber-reformatted.json": ("ueber.net", 2, 0, 7, 0, 0),
    "microsoft-2025-05-sts-and-tlsa.json": ("random.net", 2, 0, 2, 0, 0),
    "microsoft-2025-06-sts-fetch-error-no-ip-no-mx.json": ("xxxxxxxx.xx", 1, 1, 0, 3, 3),
    "microsoft-2025-08-sts-enforce-protonmail.json.gz": ("josh.scot", 1, 0, 2, 0, 0),
    "microsoft-2026-05-sts-enforce-html-body-anonymised.eml": ("example.com", 1, 0, 2, 0, 0),
    "microsoft-2026-08-tlsa-and-sts-testing-karlsen.json": ("karlsen.fr", 2, 0, 4, 0, 0),
    # SocketLabs sends the same policy twice: successes in one, failures in the other.
    "socketlabs-2020-02-certificate-host-mismatch-nonstandard-key.json": ("test.mailflow.ovh", 2, 1, 12, 2, 2),
    "stalwart-egressif-2024-10-no-policy-found-contact-null.json": ("redacted.example.com", 1, 0, 1, 0, 0),
    "stalwart-refluxstop-2026-01-sts-contact-null.json": ("hin.ch", 1, 0, 1, 0, 0),
    # No policy-domain at all: attributed by the domain at the end of the report-id.
    "sys4-tlsrpt-reporter-sonne-2025-09-no-policy-found-no-policy-domain.json": ("mpi-klsb.mpg.de", 1, 0, 1, 0, 0),
}  # fmt: skip


def test_every_corpus_file_has_expectations() -> None:
    assert sorted(EXPECTED) == corpus_files()


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_is_stored_with_its_numbers(name: str) -> None:
    domain_name, policies, details, successful, failed, detail_sum = EXPECTED[name]
    tenant = make_tenant()
    domain = make_domain(tenant, domain_name)

    message, _ = ingest(tenant, corpus(name), filename=name)

    assert (message.status, message.error_code) == (Status.PROCESSED, "")
    with scope(tenant=tenant):
        report = Report.objects.get()
        assert report.inbound_id == message.pk
        assert PolicyResult.objects.filter(domain=domain).count() == policies
        assert FailureDetail.objects.count() == details
        assert (report.successful, report.failed) == (successful, failed)
        failures = DailyFailure.objects.aggregate(n=Sum("count"))["n"] or 0
        assert failures == detail_sum
        raw = FailureDetail.objects.filter(policy__domain=domain)
        by_ip = DailyBreakdown.objects.filter(domain=domain, kind=BreakdownKind.SENDING_IP)
        assert _sums(by_ip, "value", "count") == _sums(raw, "sending_mta_ip")  # blank too
        by_code = DailyBreakdown.objects.filter(domain=domain, kind=BreakdownKind.REASON)
        coded = raw.exclude(failure_reason_code="")  # a detail without a code is left out
        assert _sums(by_code, "value", "count") == _sums(coded, "failure_reason_code")
    assert domain_totals(tenant) == (successful, failed)


def _sums(rows: QuerySet, key: str, count: str = "failed_session_count") -> dict[str, int]:
    return dict(rows.values_list(key).annotate(n=Sum(count)).values_list(key, "n"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_twice_is_one_report(name: str) -> None:
    tenant = make_tenant()
    make_domain(tenant, EXPECTED[name][0])
    ingest(tenant, corpus(name), filename=name)

    second, _ = ingest(tenant, corpus(name), filename=name)

    assert second.status == Status.DUPLICATE
    with scope(tenant=tenant):
        assert Report.objects.count() == 1
    assert domain_totals(tenant) == EXPECTED[name][3:5]
