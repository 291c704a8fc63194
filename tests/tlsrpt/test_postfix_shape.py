"""Postfix's reports (sys4 tlsrpt-reporter) read as sent: the EHLO answer verbatim."""

from reports.tlsrpt import Limits, parse_report
from reports.tlsrpt.parse import parse_report_checked
from reports.tlsrpt.parse_fast import report_or_none
from tests.tlsrpt.postfix import EHLO, postfix_json

LIMITS = Limits()


def test_the_multi_line_ehlo_answer_is_kept_verbatim_by_either_path() -> None:
    raw = postfix_json("Example.COM")

    fast, checked = report_or_none(raw, LIMITS), parse_report_checked(raw, LIMITS)

    assert fast == checked
    helos = [d.receiving_mx_helo for p in checked.policies for d in p.failure_details]
    assert helos[0] == EHLO.format(domain="Example.COM") and "\r\n250-STARTTLS" in helos[0]
    hosts = [d.receiving_mx_hostname for p in checked.policies for d in p.failure_details]
    assert hosts == ["mx1.example.com", "mx2.example.com"]  # host names stay normalised


def test_a_postfix_report_reads_with_both_policies_and_empty_failure_details() -> None:
    report = parse_report(postfix_json(dane=(5, 0), sts=(7, 0)), LIMITS)

    assert report.report_id == "2025-10-01T00:00:00Z_idx1_example.com"
    assert [(p.policy_type, p.policy_domain, p.successful, p.failure_details)
            for p in report.policies] == [
        ("tlsa", "mx1.example.com", 5, []), ("sts", "example.com", 7, [])
    ]  # fmt: skip


def test_a_blank_helo_is_no_helo() -> None:
    report = parse_report(postfix_json(helo=" \r\n"), LIMITS)

    assert report.policies[0].failure_details[0].receiving_mx_helo is None
