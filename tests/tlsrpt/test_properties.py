"""Any valid report, as JSON or gzip, comes back from ``extract`` with exactly its values."""

import gzip
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reports.tlsrpt import FailureDetail, Policy, Report, extract

MAX_COUNT = 2**63 - 1
EXAMPLES = settings(max_examples=200, deadline=None)

counts = st.integers(min_value=0, max_value=MAX_COUNT)
# Text as senders write it, without surrounding white space (the parser trims it).
text = (
    st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=16)
    .map(str.strip)
    .filter(bool)
)
LETTERS = "abcdefghijklmnopqrstuvwxyz"
labels = st.text(LETTERS + "0123456789", min_size=1, max_size=8)
hosts = st.lists(labels, min_size=2, max_size=4).map(".".join)
ips = st.ip_addresses().map(str)
policy_lines = (
    st.text(LETTERS + "0123456789:*.-_ ", min_size=1, max_size=20).map(str.rstrip).filter(bool)
)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
instants = st.datetimes(datetime(1971, 1, 1), datetime(2099, 12, 31), timezones=offsets)
result_types = st.sampled_from(
    ["starttls-not-supported", "certificate-expired", "validation-failure", "tlsa-invalid"]
) | st.text(LETTERS + "-", min_size=1, max_size=20)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


@st.composite
def failure_details(draw: st.DrawFn) -> FailureDetail:
    return FailureDetail(
        result_type=draw(result_types),
        sending_mta_ip=draw(maybe(ips)),
        receiving_mx_hostname=draw(maybe(hosts)),
        receiving_mx_helo=draw(maybe(hosts)),
        receiving_ip=draw(maybe(ips)),
        failed_session_count=draw(counts),
        additional_information=draw(maybe(text)),
        failure_reason_code=draw(maybe(text)),
    )


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    policy_type = draw(st.sampled_from(["sts", "tlsa", "no-policy-found"]))
    return Policy(
        policy_type=policy_type,
        policy_strings=draw(st.lists(policy_lines, max_size=4)),
        policy_domain=draw(maybe(hosts)),
        mx_hosts=draw(st.lists(hosts | hosts.map("*.{}".format), max_size=3)),
        successful=draw(counts),
        failed=draw(counts),
        failure_details=draw(st.lists(failure_details(), max_size=10)),
    )


@st.composite
def reports(draw: st.DrawFn) -> tuple[Report, datetime, datetime]:
    start, end = draw(instants), draw(instants)
    report = Report(
        organization_name=draw(text),
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        contact_info=draw(maybe(text)),
        report_id=draw(text),
        policies=draw(st.lists(policies(), min_size=1, max_size=5)),
    )
    return report, start, end


def document(report: Report, start: datetime, end: datetime) -> dict[str, Any]:
    """The RFC 8460 JSON for ``report``, optional fields left out when None."""
    return {
        "organization-name": report.organization_name,
        "date-range": {"start-datetime": start.isoformat(), "end-datetime": end.isoformat()},
        "contact-info": report.contact_info,
        "report-id": report.report_id,
        "policies": [_policy(p) for p in report.policies],
    }


def _policy(policy: Policy) -> dict[str, Any]:
    return {
        "policy": _present(
            {
                "policy-type": policy.policy_type,
                "policy-string": policy.policy_strings,
                "policy-domain": policy.policy_domain,
                "mx-host": policy.mx_hosts,
            }
        ),
        "summary": {
            "total-successful-session-count": policy.successful,
            "total-failure-session-count": policy.failed,
        },
        "failure-details": [_detail(d) for d in policy.failure_details],
    }


def _detail(detail: FailureDetail) -> dict[str, Any]:
    return _present(
        {
            "result-type": detail.result_type,
            "sending-mta-ip": detail.sending_mta_ip,
            "receiving-mx-hostname": detail.receiving_mx_hostname,
            "receiving-mx-helo": detail.receiving_mx_helo,
            "receiving-ip": detail.receiving_ip,
            "failed-session-count": detail.failed_session_count,
            "additional-information": detail.additional_information,
            "failure-reason-code": detail.failure_reason_code,
        }
    )


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


@EXAMPLES
@given(reports())
def test_reports_come_back_exactly_as_json_and_gzip(
    generated: tuple[Report, datetime, datetime],
) -> None:
    report, start, end = generated
    raw = json.dumps(document(report, start, end), ensure_ascii=False).encode()

    for payload in (raw, gzip.compress(raw)):
        found = extract(payload).reports
        assert [f.report for f in found] == [report]
        assert found[0].raw_json == raw
