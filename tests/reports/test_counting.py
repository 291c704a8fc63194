"""Which sessions count toward a domain's totals, for each real sender's shape (issue 12).

Microsoft reports every session under both the domain's ``tlsa`` and ``sts`` policies
(same policy-domain, identical totals): counted once. Postfix through sys4's
tlsrpt-reporter reports each session once, under the policy it applied (DANE per MX
host, MTA-STS for the domain): every session counts. Stored reports are recounted by
migration 0013.
"""

import importlib

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.models import Sum
from django_scopes import scope

from reports.models import DailyFailure, DailyStat, PolicyResult, Report
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import corpus, domain_totals, ingest
from tests.tlsrpt.postfix import postfix_json

pytestmark = pytest.mark.django_db

MICROSOFT_BOTH = {
    "microsoft-2024-09-sts-and-tlsa-13-hashes-krvtz.eml": ("krvtz.net", 2),
    "microsoft-2024-10-tlsa-and-sts-ueber-reformatted.json": ("ueber.net", 7),
    "microsoft-2025-05-sts-and-tlsa.json": ("random.net", 2),
    "microsoft-2026-08-tlsa-and-sts-testing-karlsen.json": ("karlsen.fr", 4),
}


STAT_FIELDS = ("policy_type", "successful", "failed", "counted_successful", "counted_failed",
               "reports")  # fmt: skip
FAILURE_FIELDS = ("policy_type", "result_type", "count", "counted")


def failures_counted(tenant) -> dict[str, int]:
    with scope(tenant=tenant):
        rows = DailyFailure.objects.values("result_type").annotate(n=Sum("counted"))
        return {r["result_type"]: r["n"] for r in rows}


def rollup_state(tenant) -> tuple:
    with scope(tenant=tenant):
        return (
            sorted(PolicyResult.objects.values_list("policy_type", "counted", "successful")),
            sorted(Report.objects.values_list("successful", "failed")),
            sorted(DailyStat.objects.values_list(*STAT_FIELDS)),
            sorted(DailyFailure.objects.values_list(*FAILURE_FIELDS)),
        )


@pytest.mark.parametrize("name", sorted(MICROSOFT_BOTH))
def test_microsofts_double_report_counts_once(name: str) -> None:
    domain, sessions = MICROSOFT_BOTH[name]
    tenant = make_tenant()
    make_domain(tenant, domain)

    ingest(tenant, corpus(name), name)

    with scope(tenant=tenant):
        counted = dict(PolicyResult.objects.values_list("policy_type", "counted"))
        report = Report.objects.get()
    assert counted == {"sts": False, "tlsa": True}
    assert (report.successful, report.failed) == (sessions, 0)
    assert domain_totals(tenant) == (sessions, 0)


def test_postfix_dane_and_mta_sts_sessions_all_count() -> None:
    """The issue's day: 120 DANE sessions at mx1 (10 failed), 80 MTA-STS (10 failed)."""
    tenant = make_tenant()
    make_domain(tenant, "example.com")

    message, _ = ingest(tenant, postfix_json("example.com", dane=(110, 10), sts=(70, 10)))

    with scope(tenant=tenant):
        counted = dict(PolicyResult.objects.values_list("policy_type", "counted"))
        report = Report.objects.get()
    assert message.status == "processed"
    assert counted == {"tlsa": True, "sts": True}
    assert (report.successful, report.failed) == (180, 20)
    assert domain_totals(tenant) == (180, 20)
    assert failures_counted(tenant) == {"certificate-expired": 10, "tlsa-invalid": 10}


def test_postfix_sessions_count_even_when_both_totals_are_equal() -> None:
    """Equal totals under different policy-domains (MX host, domain) are not one set."""
    tenant = make_tenant()
    make_domain(tenant, "example.com", mx_hosts=["mx1.example.com", "mx2.example.com"])

    ingest(tenant, postfix_json("example.com", dane=(5, 1), sts=(5, 1)))

    assert domain_totals(tenant) == (10, 2)


def test_an_sts_policy_with_other_totals_than_the_tlsa_one_counts_too() -> None:
    """Same policy-domain but different totals: not the same sessions, both count."""
    import json

    doc = json.loads(postfix_json("example.com", dane=(3, 0), sts=(4, 0)))
    doc["policies"][0]["policy"]["policy-domain"] = "example.com"
    tenant = make_tenant()
    make_domain(tenant, "example.com")

    ingest(tenant, json.dumps(doc).encode())

    assert domain_totals(tenant) == (7, 0)


# -- migration 0013 recounts what the old rule stored


def _migration():
    return importlib.import_module("reports.migrations.0013_recount_policies")


def _historical_apps():
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    return loader.project_state(("reports", "0013_recount_policies")).apps


def _as_the_old_rule_stored(tenant) -> None:
    """What the old rule made of the Postfix day: only the larger (tlsa) side counted."""
    with scope(tenant=tenant):
        sts = PolicyResult.objects.get(policy_type="sts")
        sts.counted = False
        sts.save(update_fields=["counted"])
        report = Report.objects.get()
        report.successful, report.failed = 110, 10
        report.save(update_fields=["successful", "failed"])
        DailyStat.objects.filter(policy_type="sts").update(counted_successful=0, counted_failed=0)
        DailyFailure.objects.filter(policy_type="sts").update(counted=0)


def test_migration_recounts_reports_stored_under_the_old_rule() -> None:
    fresh = make_tenant("fresh")
    make_domain(fresh, "example.com")
    ingest(fresh, postfix_json("example.com"))
    ingest(fresh, corpus("microsoft-2025-05-sts-and-tlsa.json"))
    stale = make_tenant("stale")
    make_domain(stale, "example.com")
    ingest(stale, postfix_json("example.com"))
    ingest(stale, corpus("microsoft-2025-05-sts-and-tlsa.json"))
    _as_the_old_rule_stored(stale)
    assert domain_totals(stale) == (110, 10)

    _migration().recount(_historical_apps(), None)

    assert domain_totals(stale) == domain_totals(fresh) == (180, 20)
    assert rollup_state(stale) == rollup_state(fresh)
    assert failures_counted(stale) == {"certificate-expired": 10, "tlsa-invalid": 10}


def test_migration_leaves_a_shared_rollup_row_to_the_other_reports() -> None:
    """Two reports in one rollup row: only the recounted one's sessions move."""
    tenant = make_tenant()
    make_domain(tenant, "example.com")
    ingest(tenant, postfix_json("example.com", dane=(110, 10), sts=(70, 10)))
    _as_the_old_rule_stored(tenant)
    # A second report of the same sender, day and domain: MTA-STS only, stored right.
    other = postfix_json("example.com", dane=(0, 0), sts=(30, 0)).replace(b"idx1", b"idx2")
    ingest(tenant, other)
    with scope(tenant=tenant):
        assert DailyStat.objects.get(policy_type="sts").counted_successful == 30

    _migration().recount(_historical_apps(), None)

    with scope(tenant=tenant):
        stat = DailyStat.objects.get(policy_type="sts")
    assert (stat.counted_successful, stat.counted_failed, stat.reports) == (100, 10, 2)
    assert domain_totals(tenant) == (210, 20)
