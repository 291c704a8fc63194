"""Property: any valid report round-trips to the numbers stored in PostgreSQL."""

import gzip
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Sum
from django_scopes import scope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Tenant
from reports.models import DailyFailure, DailyStat, FailureDetail, PolicyResult, Report, Status
from tests.factories import make_domain
from tests.reports.helpers import ingest

COUNT = st.integers(min_value=0, max_value=2**40)
RESULT_TYPES = st.sampled_from(
    ["starttls-not-supported", "certificate-expired", "validation-failure", "tlsa-invalid",
     "sts-policy-fetch-error", "some-future-result-type"]
)  # fmt: skip
DOMAINS = ["alpha.example", "beta.example"]

detail = st.fixed_dictionaries(
    {
        "result-type": RESULT_TYPES,
        "sending-mta-ip": st.ip_addresses().map(str),
        "receiving-mx-hostname": st.sampled_from(["mx1.alpha.example", "mx2.beta.example"]),
        "failed-session-count": COUNT,
    }
)
policy = st.fixed_dictionaries(
    {
        "policy": st.fixed_dictionaries(
            {
                "policy-type": st.sampled_from(["sts", "tlsa", "no-policy-found"]),
                "policy-domain": st.sampled_from(DOMAINS),
            }
        ),
        "summary": st.fixed_dictionaries(
            {"total-successful-session-count": COUNT, "total-failure-session-count": COUNT}
        ),
        "failure-details": st.lists(detail, max_size=6),
    }
)
report = st.fixed_dictionaries(
    {
        "organization-name": st.text(min_size=1, max_size=40).filter(str.strip),
        "date-range": st.datetimes(
            min_value=datetime(2019, 1, 1), max_value=datetime(2030, 1, 1)
        ).map(
            lambda d: {
                "start-datetime": d.replace(tzinfo=UTC).isoformat(),
                "end-datetime": (d.replace(tzinfo=UTC) + timedelta(days=1)).isoformat(),
            }
        ),
        "contact-info": st.emails(),
        "report-id": st.uuids().map(str),
        "policies": st.lists(policy, min_size=1, max_size=5),
    }
)


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=report, compress=st.booleans())
def test_a_generated_report_round_trips_to_the_stored_numbers(
    document: dict,
    compress: bool,
    django_db_blocker,
) -> None:
    tenant = Tenant.objects.create(slug=f"t{Tenant.objects.count()}")
    domains = {name: make_domain(tenant, name) for name in DOMAINS}
    raw = json.dumps(document).encode()

    message, _ = ingest(tenant, gzip.compress(raw) if compress else raw)

    assert message.status == Status.PROCESSED
    with scope(tenant=tenant):
        stored = Report.objects.get()
        # Text is trimmed, and NUL (which PostgreSQL text cannot hold) becomes U+FFFD.
        organization = document["organization-name"].replace("\x00", "\ufffd").strip()
        assert stored.organization == organization[:255]
        assert stored.report_id == document["report-id"]
        assert stored.start == datetime.fromisoformat(document["date-range"]["start-datetime"])
        assert json.loads(stored.raw_json) == document
        rows = list(PolicyResult.objects.order_by("pk"))
        for row, sent in zip(rows, document["policies"], strict=True):
            assert row.policy_type == sent["policy"]["policy-type"]
            assert row.domain == domains[sent["policy"]["policy-domain"]]
            assert row.successful == sent["summary"]["total-successful-session-count"]
            assert row.failed == sent["summary"]["total-failure-session-count"]
            assert row.failures.count() == len(sent["failure-details"])
        _assert_rollups(document, domains)


def _assert_rollups(document: dict, domains: dict) -> None:
    sent_by_type: Counter = Counter()
    sent_failures: Counter = Counter()
    for sent in document["policies"]:
        key = (sent["policy"]["policy-domain"], sent["policy"]["policy-type"])
        sent_by_type[key] += sent["summary"]["total-successful-session-count"]
        for d in sent["failure-details"]:
            sent_failures[key] += d["failed-session-count"]
    for (name, policy_type), successful in sent_by_type.items():
        stats = DailyStat.objects.filter(domain=domains[name], policy_type=policy_type)
        assert stats.aggregate(s=Sum("successful"))["s"] == successful
        failures = DailyFailure.objects.filter(domain=domains[name], policy_type=policy_type)
        assert (failures.aggregate(n=Sum("count"))["n"] or 0) == sent_failures[name, policy_type]
    assert FailureDetail.objects.count() == sum(
        len(p["failure-details"]) for p in document["policies"]
    )
