"""Ingest behaviour: attribution, dedup, tenant isolation, failures kept, DKIM via DNS."""

import gzip
import json

import pytest
from django_scopes import scope, scopes_disabled
from django_scopes.exceptions import ScopeError

from reports.ingest.messages import message_reprocess, message_run
from reports.models import (
    BreakdownKind,
    DailyBreakdown,
    DailyFailure,
    DailyStat,
    FailureDetail,
    InboundMessage,
    PolicyResult,
    Report,
    Status,
)
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import corpus, domain_totals, ingest
from tests.reports.mail import report_email, report_json
from tests.tlsrpt.builders import rsa_key

pytestmark = pytest.mark.django_db

MS_BOTH = "microsoft-2025-05-sts-and-tlsa.json"


def test_a_google_email_is_stored_with_its_header_facts() -> None:
    tenant = make_tenant()
    make_domain(tenant, "krvtz.net")

    message, _ = ingest(tenant, corpus("google-2024-09-15-sts-enforce-krvtz.eml"))

    assert message.status == Status.PROCESSED
    with scope(tenant=tenant):
        report = Report.objects.get()
        policy = report.policies.get()
    assert report.organization == "Google Inc."
    assert report.report_id == "2024-09-15T00:00:00Z_krvtz.net"
    assert report.start.isoformat() == "2024-09-15T00:00:00+00:00"
    assert report.day.isoformat() == "2024-09-15"
    assert (report.tls_report_domain, report.tls_report_submitter) == ("krvtz.net", "google.com")
    assert report.from_address == "noreply-smtp-tls-reporting@google.com"
    # The key for google.com's selector is not in the test DNS: the signature cannot pass.
    assert (report.dkim_result, report.dkim_domain) == ("fail", "google.com")
    assert json.loads(report.raw_json)["report-id"] == report.report_id
    assert policy.policy_strings == [
        "version: STSv1", "mode: enforce", "max_age: 10368000", "mx: carp-20.krvtz.net"
    ]  # fmt: skip
    assert policy.mx_hosts == ["carp-20.krvtz.net"]


def test_sessions_under_both_tlsa_and_sts_count_once_for_the_domain() -> None:
    tenant = make_tenant()
    make_domain(tenant, "random.net")

    ingest(tenant, corpus(MS_BOTH))

    with scope(tenant=tenant):
        by_type = dict(DailyStat.objects.values_list("policy_type", "successful"))
        counted = dict(PolicyResult.objects.values_list("policy_type", "counted"))
    assert by_type == {"sts": 2, "tlsa": 2}
    assert counted == {"sts": False, "tlsa": True}
    assert domain_totals(tenant) == (2, 0)


def test_a_report_for_an_unverified_domain_is_unattributed_and_counts_nothing() -> None:
    tenant = make_tenant()
    make_domain(tenant, "random.net", verified=False)

    message, _ = ingest(tenant, corpus(MS_BOTH))

    assert message.status == Status.UNATTRIBUTED
    with scope(tenant=tenant):
        assert not Report.objects.exists()
        assert not DailyStat.objects.exists()


def test_an_unattributed_message_counts_after_verification_and_reprocessing(
    django_capture_on_commit_callbacks,
) -> None:
    tenant = make_tenant()
    domain = make_domain(tenant, "random.net", verified=False)
    message, _ = ingest(tenant, corpus(MS_BOTH))
    with scope(tenant=tenant):
        domain.verified_at = message.received_at
        domain.save()

    with django_capture_on_commit_callbacks() as callbacks:
        assert message_reprocess(message=message)
    assert len(callbacks) == 1  # the task is queued once the status change commits
    assert message_run(message_id=message.pk).status == Status.PROCESSED
    assert domain_totals(tenant) == (2, 0)


def test_a_report_about_another_domain_never_counts_for_a_verified_one() -> None:
    tenant = make_tenant()
    make_domain(tenant, "victim.example")
    raw = report_email(report_json(domain="other.example"), header_domain="victim.example")

    message, _ = ingest(tenant, raw)

    assert message.status == Status.UNATTRIBUTED


def test_a_tlsa_policy_naming_an_mx_host_counts_for_the_domain_of_that_mx() -> None:
    tenant = make_tenant()
    make_domain(tenant, "example.org", mx_hosts=["mx1.mailhost.example"])
    raw = json.dumps(report_json(domain="mx1.mailhost.example", policy_type="tlsa")).encode()

    message, _ = ingest(tenant, raw)

    assert message.status == Status.PROCESSED
    assert domain_totals(tenant) == (10, 2)


def test_the_same_report_to_two_tenants_is_stored_once_for_each() -> None:
    first, second = make_tenant("first"), make_tenant("second")
    make_domain(first, "random.net")
    make_domain(second, "random.net")

    ingest(first, corpus(MS_BOTH))
    message, _ = ingest(second, corpus(MS_BOTH))

    assert message.status == Status.PROCESSED
    for tenant in (first, second):
        with scope(tenant=tenant):
            assert Report.objects.count() == 1
        assert domain_totals(tenant) == (2, 0)


def test_a_tenant_sees_none_of_another_tenants_rows() -> None:
    ours, theirs = make_tenant("ours"), make_tenant("theirs")
    make_domain(theirs, "random.net")
    ingest(theirs, corpus(MS_BOTH))

    with scope(tenant=ours):
        assert not Report.objects.exists()
        assert not InboundMessage.objects.exists()
        assert not DailyStat.objects.exists()


def test_a_query_outside_a_tenant_scope_raises() -> None:
    with pytest.raises(ScopeError):
        list(Report.objects.all())


def test_an_unparseable_message_is_kept_with_its_reason() -> None:
    tenant = make_tenant()

    message, outcome = ingest(tenant, b'{"organization-name": "x", ', filename="broken.json")

    assert (message.status, message.error_code) == (Status.FAILED, "json_invalid")
    assert outcome.error_message
    assert bytes(message.raw) == b'{"organization-name": "x", '


def test_counts_too_large_to_add_up_fail_the_message_cleanly() -> None:
    tenant = make_tenant()
    make_domain(tenant, "example.org")
    big = report_json(domain="example.org", successful=2**63 - 1, failed=0)
    big["policies"] *= 2  # each count fits in 64 bits; their sum does not

    message, _ = ingest(tenant, json.dumps(big).encode())

    assert (message.status, message.error_code) == (Status.FAILED, "count_out_of_range")
    with scope(tenant=tenant):
        assert not Report.objects.exists()


def test_a_day_whose_total_would_pass_64_bits_fails_the_message_that_tips_it() -> None:
    """Each report fits; the rollup's sum does not (PostgreSQL refuses it, SQLite would
    turn it into a float): the second message fails, the first one's numbers stay."""
    tenant = make_tenant()
    make_domain(tenant, "example.org")
    first = report_json(domain="example.org", report_id="one", successful=2**63 - 1, failed=0)
    second = report_json(domain="example.org", report_id="two", successful=1, failed=0)

    kept, _ = ingest(tenant, json.dumps(first).encode())
    tipped, _ = ingest(tenant, json.dumps(second).encode())

    assert kept.status == Status.PROCESSED
    assert (tipped.status, tipped.error_code) == (Status.FAILED, "count_out_of_range")
    with scope(tenant=tenant):
        assert DailyStat.objects.get().successful == 2**63 - 1


def _many_ips(document: dict, count: int, failed: int) -> dict:
    """``document`` with ``count`` failure details from distinct sending IPs."""
    detail = document["policies"][0]["failure-details"][0]
    details = [
        {**detail, "sending-mta-ip": f"198.18.{i // 250}.{i % 250 + 1}",
         "failure-reason-code": f"code-{i % 3}", "failed-session-count": failed}
        for i in range(count)
    ]  # fmt: skip
    document["policies"][0]["failure-details"] = details
    document["policies"][0]["summary"]["total-failure-session-count"] = failed * count
    return document


def test_a_report_with_hundreds_of_sending_ips_adds_to_a_day_already_stored() -> None:
    """Past a few hundred rows a rollup goes in another way on PostgreSQL (COPY):
    the same sums, added to the rows already there."""
    tenant = make_tenant()
    domain = make_domain(tenant, "example.org")
    for report_id in ("one", "two"):
        document = report_json(domain="example.org", report_id=report_id)
        message, _ = ingest(tenant, json.dumps(_many_ips(document, 600, failed=3)).encode())
        assert message.status == Status.PROCESSED

    with scope(tenant=tenant):
        by_ip = DailyBreakdown.objects.filter(domain=domain, kind=BreakdownKind.SENDING_IP)
        assert by_ip.count() == 600
        assert set(by_ip.values_list("count", "counted").distinct()) == {(6, 6)}
        by_code = DailyBreakdown.objects.filter(domain=domain, kind=BreakdownKind.REASON)
        assert dict(by_code.values_list("value", "count")) == {
            "code-0": 1200, "code-1": 1200, "code-2": 1200
        }  # fmt: skip
    assert domain_totals(tenant) == (20, 3600)


def test_a_sending_ip_total_past_64_bits_in_a_large_report_fails_the_message() -> None:
    """Two failure types from one IP, each count fits and so does each type's total:
    their sum by IP does not."""
    tenant = make_tenant()
    make_domain(tenant, "example.org")
    document = _many_ips(report_json(domain="example.org"), 600, failed=1)
    first, second = document["policies"][0]["failure-details"][:2]
    first["failed-session-count"] = second["failed-session-count"] = 2**62
    second["sending-mta-ip"] = first["sending-mta-ip"]
    second["result-type"] = "certificate-not-trusted"

    message, _ = ingest(tenant, json.dumps(document).encode())

    assert (message.status, message.error_code) == (Status.FAILED, "count_out_of_range")
    with scope(tenant=tenant):
        assert not Report.objects.exists()
        assert not DailyBreakdown.objects.exists()


def test_a_processed_message_is_not_processed_again() -> None:
    tenant = make_tenant()
    make_domain(tenant, "random.net")
    message, _ = ingest(tenant, corpus(MS_BOTH))
    again = message_run(message_id=message.pk)

    assert again.status == Status.PROCESSED
    with scopes_disabled():
        assert Report.objects.count() == 1
    assert domain_totals(tenant) == (2, 0)


def test_a_dkim_signature_checked_against_the_real_dns_server_passes(dns) -> None:
    private_pem, record = rsa_key()
    dns.add_txt("tlsrpt._domainkey.sender.example", record.decode())
    tenant = make_tenant()
    make_domain(tenant, "example.org")
    raw = report_email(report_json(domain="example.org"), sign_with=private_pem)

    ingest(tenant, raw)

    with scope(tenant=tenant):
        report = Report.objects.get()
    assert (report.dkim_result, report.dkim_domain) == ("pass", "sender.example")


def test_a_tampered_signed_report_fails_dkim_but_is_kept(dns) -> None:
    private_pem, record = rsa_key()
    dns.add_txt("tlsrpt._domainkey.sender.example", record.decode())
    tenant = make_tenant()
    make_domain(tenant, "example.org")
    raw = report_email(report_json(domain="example.org"), sign_with=private_pem)
    raw = raw.replace(b"Submitter: sender.example Report-ID", b"Submitter: evil.example Report-ID")

    message, _ = ingest(tenant, raw)

    assert message.status == Status.PROCESSED
    with scope(tenant=tenant):
        assert Report.objects.get().dkim_result == "fail"


def test_dkim_is_a_temporary_error_when_dns_fails(dns) -> None:
    private_pem, _ = rsa_key()
    dns.servfail.add("tlsrpt._domainkey.sender.example")
    tenant = make_tenant()
    make_domain(tenant, "example.org")
    raw = report_email(report_json(domain="example.org"), sign_with=private_pem)

    ingest(tenant, raw)

    with scope(tenant=tenant):
        assert Report.objects.get().dkim_result == "temperror"


def test_a_gzipped_json_named_json_is_found_by_content() -> None:
    tenant = make_tenant()
    make_domain(tenant, "example.org")
    raw = gzip.compress(json.dumps(report_json(domain="example.org")).encode())

    message, _ = ingest(tenant, raw, filename="report.json")

    assert message.status == Status.PROCESSED


def test_deleting_a_report_or_a_tenant_takes_its_failure_details_along() -> None:
    """FailureDetail's and DailyBreakdown's keys have no database constraint: Django's
    cascade must do it."""
    kept, gone = make_tenant("kept"), make_tenant("gone")
    for tenant in (kept, gone):
        make_domain(tenant, "example.org")
        for _ in range(2):
            ingest(tenant, report_email(report_json(domain="example.org", failed=3)))

    with scope(tenant=gone):
        report = Report.objects.first()
        assert report is not None
        report.delete()
        assert FailureDetail.objects.count() == 1
    with scopes_disabled():
        gone.delete()
        assert not FailureDetail.objects.filter(tenant_id=gone.pk).exists()
        assert not FailureDetail.objects.filter(policy__report__tenant_id=gone.pk).exists()
        assert FailureDetail.objects.filter(tenant=kept).count() == 2
        for rollup in (DailyStat, DailyFailure, DailyBreakdown):
            assert not rollup.objects.filter(tenant_id=gone.pk).exists()
            assert rollup.objects.filter(tenant=kept).count() == 1


def test_deleting_a_domain_takes_its_sending_ip_breakdowns_along() -> None:
    tenant = make_tenant()
    gone, kept = make_domain(tenant, "gone.example"), make_domain(tenant, "kept.example")
    for domain in (gone, kept):
        ingest(tenant, report_email(report_json(domain=domain.name, failed=3)))

    with scope(tenant=tenant):
        gone.delete()
        assert list(DailyBreakdown.objects.values_list("domain_id", flat=True)) == [kept.pk]
