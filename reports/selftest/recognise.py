"""Which reports of a batch are self-tests: the ingest's one question to this package.

A report is a test only when it carries both marks (the self-test organization and a
``selftest-`` report-id) *and* the same tenant has a ``SelfTest`` row holding that
report-id. The marks alone prove nothing: anyone who knows a tenant's address could send
them, and a stranger must neither hide real failures by dressing them up as tests nor
slip fake tests in (such a report is counted like any other). The report-id is random
(a UUID), and the row is written by the tenant's own member or key before the report is
sent. Runs inside the batch's scope (one query for the whole batch).
"""

from collections.abc import Iterable

from reports.selftest.build import looks_like_self_test
from reports.selftest.models import SelfTest

Key = tuple[int, str]  # tenant id, report-id


def self_tests_among(reports: Iterable[tuple[int, str, str]]) -> set[Key]:
    """Of ``(tenant id, organization, report-id)``, the ``(tenant id, report-id)`` that
    are the tenants' own self-tests."""
    candidates = {(t, rid) for t, org, rid in reports if looks_like_self_test(org, rid)}
    if not candidates:
        return set()
    rows = SelfTest.objects.filter(
        tenant_id__in={t for t, _ in candidates}, report_id__in={rid for _, rid in candidates}
    ).values_list("tenant_id", "report_id")
    return set(rows) & candidates
