"""Targeted quirks of real senders in small inline JSON, and the schema errors."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from reports.tlsrpt import Limits, Policy, Report, TlsRptError, extract, parse_report
from tests.tlsrpt.builders import dumps, policy_of, report_doc


def parse(doc: dict[str, Any]) -> Report:
    return parse_report(dumps(doc), Limits())


def first_policy(doc: dict[str, Any]) -> Policy:
    return parse(doc).policies[0]


def schema_error(doc: Any) -> str:
    with pytest.raises(TlsRptError) as caught:
        parse_report(dumps(doc), Limits())
    assert caught.value.code == "schema_invalid"
    return caught.value.message


def with_policy(**fields: Any) -> dict[str, Any]:
    doc = report_doc()
    policy_of(doc)["policy"].update(fields)
    return doc


def with_detail(**fields: Any) -> dict[str, Any]:
    doc = report_doc()
    policy_of(doc)["failure-details"][0].update(fields)
    return doc


def without(mapping: dict[str, Any], *keys: str) -> None:
    for key in keys:
        mapping.pop(key)


# -- the report in full


def test_a_plain_report_parses_to_its_values() -> None:
    report = parse(report_doc())

    assert report.organization_name == "Example Sender"
    assert report.report_id == "2026-11-01T00:00:00Z_example.org"
    assert report.contact_info == "tlsrpt@sender.example"
    assert report.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert report.end == datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC)
    policy = report.policies[0]
    assert (policy.policy_type, policy.policy_domain, policy.mx_hosts) == (
        "sts",
        "example.org",
        ["mx.example.org"],
    )
    assert policy.policy_strings == ["version: STSv1", "mode: enforce", "mx: mx.example.org"]
    assert (policy.successful, policy.failed) == (10, 2)
    detail = policy.failure_details[0]
    assert (detail.result_type, detail.sending_mta_ip, detail.receiving_ip) == (
        "certificate-expired",
        "192.0.2.10",
        "198.51.100.7",
    )
    assert (detail.receiving_mx_hostname, detail.failed_session_count) == ("mx.example.org", 2)
    assert (detail.receiving_mx_helo, detail.additional_information) == (None, None)
    assert detail.failure_reason_code is None


def test_key_order_does_not_matter() -> None:
    doc = report_doc()
    reordered = dict(reversed(list(doc.items())))
    policy_of(reordered)["policy"] = dict(reversed(list(policy_of(doc)["policy"].items())))

    assert parse(reordered) == parse(doc)


def test_a_utf8_bom_is_accepted() -> None:
    raw = b"\xef\xbb\xbf" + dumps(report_doc())

    found = extract(raw).reports[0]

    assert found.report.organization_name == "Example Sender"
    assert found.raw_json == raw


def test_non_ascii_text_is_read_as_utf8() -> None:
    doc = report_doc(**{"organization-name": "Übermail GmbH"})
    assert parse_report(
        json.dumps(doc, ensure_ascii=False).encode(), Limits()
    ).organization_name == ("Übermail GmbH")


# -- policies


@pytest.mark.parametrize(
    ("fields", "hosts"),
    [
        (
            {"mx-host": ["mx1.example.org", "MX2.Example.Org."]},
            ["mx1.example.org", "mx2.example.org"],
        ),
        ({"mx-host": "*.example.org"}, ["*.example.org"]),
        ({"mx-host": []}, []),
        ({"mx-host": None}, []),
        ({"mx-host-pattern": ["*.Example.org"]}, ["*.example.org"]),
        ({"mx-host-pattern": "mx.example.org"}, ["mx.example.org"]),
    ],
)
def test_mx_hosts_in_every_shape(fields: dict[str, Any], hosts: list[str]) -> None:
    doc = with_policy(**fields)
    if "mx-host" not in fields:
        del policy_of(doc)["policy"]["mx-host"]

    assert first_policy(doc).mx_hosts == hosts


def test_policy_without_mx_host_has_none() -> None:
    doc = report_doc()
    del policy_of(doc)["policy"]["mx-host"]

    assert first_policy(doc).mx_hosts == []


def test_policy_domain_is_lowercased_without_trailing_dot() -> None:
    assert first_policy(with_policy(**{"policy-domain": "Example.ORG."})).policy_domain == (
        "example.org"
    )


@pytest.mark.parametrize("value", [None, "", "  "])
def test_missing_or_empty_policy_domain_is_none(value: str | None) -> None:
    assert first_policy(with_policy(**{"policy-domain": value})).policy_domain is None


def test_missing_policy_domain_and_strings() -> None:
    doc = report_doc()
    without(policy_of(doc)["policy"], "policy-domain", "policy-string", "mx-host")

    policy = first_policy(doc)

    assert (policy.policy_domain, policy.policy_strings, policy.mx_hosts) == (None, [], [])


def test_microsoft_tlsa_string_holding_a_json_array_is_expanded() -> None:
    records = ["3 1 1 5C046FF0", "3 1 1 CEC87FB3"]
    doc = with_policy(**{"policy-type": "tlsa", "policy-string": [json.dumps(records)]})

    assert first_policy(doc).policy_strings == records


def test_a_bracketed_string_that_is_not_a_json_array_is_kept() -> None:
    doc = with_policy(**{"policy-string": ["[not json]", '["a", 1]']})

    assert first_policy(doc).policy_strings == ["[not json]", '["a", 1]']


def test_policy_strings_lose_trailing_carriage_returns_and_spaces() -> None:
    doc = with_policy(**{"policy-string": ["version: STSv1\r", "mode: enforce \t", "\r"]})

    assert first_policy(doc).policy_strings == ["version: STSv1", "mode: enforce"]


def test_a_single_policy_string_is_one_line() -> None:
    assert first_policy(with_policy(**{"policy-string": "version: STSv1"})).policy_strings == [
        "version: STSv1"
    ]


def test_policy_type_is_lowercased() -> None:
    assert first_policy(with_policy(**{"policy-type": "STS"})).policy_type == "sts"


def test_failure_details_missing_or_null_are_empty() -> None:
    doc = report_doc()
    del policy_of(doc)["failure-details"]
    assert first_policy(doc).failure_details == []

    policy_of(doc)["failure-details"] = None
    assert first_policy(doc).failure_details == []


def test_an_empty_policies_array_is_a_report_without_policies() -> None:
    assert parse(report_doc(policies=[])).policies == []


# -- failure details


def test_unknown_result_type_is_kept_verbatim() -> None:
    doc = with_detail(**{"result-type": "Some-Future-Type"})
    assert first_policy(doc).failure_details[0].result_type == "Some-Future-Type"


def test_socketlabs_receiving_mx_host_name() -> None:
    doc = report_doc()
    detail = policy_of(doc)["failure-details"][0]
    detail["receiving-mx-host-name"] = detail.pop("receiving-mx-hostname")

    assert first_policy(doc).failure_details[0].receiving_mx_hostname == "mx.example.org"


def test_additional_information_under_either_name() -> None:
    uri = "https://sender.example/tlsrpt/help"
    standard = first_policy(with_detail(**{"additional-information": uri}))
    prose = first_policy(with_detail(**{"additional-info-uri": uri}))

    assert standard.failure_details[0].additional_information == uri
    assert prose.failure_details[0].additional_information == uri


def test_optional_detail_fields_missing_null_or_empty_are_none() -> None:
    doc = with_detail(
        **{
            "sending-mta-ip": "",
            "receiving-ip": None,
            "failure-reason-code": "",
            "receiving-mx-helo": None,
        }
    )
    without(policy_of(doc)["failure-details"][0], "receiving-mx-hostname")

    detail = first_policy(doc).failure_details[0]

    assert (detail.sending_mta_ip, detail.receiving_ip, detail.receiving_mx_hostname) == (
        None,
        None,
        None,
    )
    assert (detail.failure_reason_code, detail.receiving_mx_helo) == (None, None)


def test_detail_host_names_are_normalised_and_the_helo_kept_as_sent() -> None:
    doc = with_detail(**{"receiving-mx-hostname": "MX.Example.org.", "receiving-mx-helo": "Mx1."})
    detail = first_policy(doc).failure_details[0]

    assert (detail.receiving_mx_hostname, detail.receiving_mx_helo) == ("mx.example.org", "Mx1.")


# -- report-level optional fields


@pytest.mark.parametrize("value", [None, ""])
def test_contact_info_null_or_empty_is_none(value: str | None) -> None:
    assert parse(report_doc(**{"contact-info": value})).contact_info is None


def test_contact_info_missing_is_none() -> None:
    doc = report_doc()
    del doc["contact-info"]
    assert parse(doc).contact_info is None


# -- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-01-10T00:00:00", datetime(2023, 1, 10, tzinfo=UTC)),
        ("2023-01-10T23:59:59Z", datetime(2023, 1, 10, 23, 59, 59, tzinfo=UTC)),
        ("2023-01-10t23:59:59z", datetime(2023, 1, 10, 23, 59, 59, tzinfo=UTC)),
        ("2023-01-10T02:00:00+02:00", datetime(2023, 1, 10, tzinfo=UTC)),
        ("2023-01-09T19:00:00-05:00", datetime(2023, 1, 10, tzinfo=UTC)),
        ("2023-01-10T00:00:00.250Z", datetime(2023, 1, 10, 0, 0, 0, 250000, tzinfo=UTC)),
        ("2023-01-10T00:00:00.1234567Z", datetime(2023, 1, 10, 0, 0, 0, 123456, tzinfo=UTC)),
        ("2023-01-10 12:00:00Z", datetime(2023, 1, 10, 12, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_start_datetimes(text: str, expected: datetime) -> None:
    doc = report_doc(**{"date-range": {"start-datetime": text, "end-datetime": text}})

    report = parse(doc)

    assert report.start == expected
    assert report.start.utcoffset() is not None


def test_end_at_next_midnight_is_kept_as_sent() -> None:
    doc = report_doc(
        **{
            "date-range": {
                "start-datetime": "2024-10-31T00:00:00Z",
                "end-datetime": "2024-11-01T00:00:00Z",
            }
        }
    )
    assert parse(doc).end == datetime(2024, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["2023-01-10", "yesterday", "2023-13-01T00:00:00Z", "2023-01-10T25:00:00Z", ""]
)
def test_dates_that_are_not_rfc3339_date_times_are_refused(text: str) -> None:
    doc = report_doc(**{"date-range": {"start-datetime": text, "end-datetime": text}})

    assert schema_error(doc) == "date-range.start-datetime: must be an RFC 3339 date-time"


# -- required structure


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("organization-name", "organization-name: is required"),
        ("report-id", "report-id: is required"),
        ("date-range", "date-range: is required"),
        ("policies", "policies: is required"),
    ],
)
def test_required_report_fields(key: str, message: str) -> None:
    doc = report_doc()
    del doc[key]
    assert schema_error(doc) == message


@pytest.mark.parametrize("key", ["start-datetime", "end-datetime"])
def test_required_dates(key: str) -> None:
    doc = report_doc()
    del doc["date-range"][key]
    assert schema_error(doc) == f"date-range.{key}: is required"


def test_the_top_level_must_be_an_object() -> None:
    assert schema_error([report_doc()]) == "report: must be a JSON object"


def test_policies_must_be_an_array() -> None:
    assert schema_error(report_doc(policies={"policy": {}})) == "policies: must be an array"


def test_empty_organization_name_is_refused() -> None:
    doc = report_doc(**{"organization-name": " "})
    assert schema_error(doc) == "organization-name: must be a non-empty string"


def test_a_number_as_report_id_is_refused() -> None:
    assert (
        schema_error(report_doc(**{"report-id": 12345})) == "report-id: must be a non-empty string"
    )


def test_errors_name_the_policy_by_index() -> None:
    doc = report_doc()
    second = json.loads(json.dumps(policy_of(doc)))
    second["summary"]["total-failure-session-count"] = -1
    doc["policies"].append(second)

    assert schema_error(doc) == (
        "policies[1].summary.total-failure-session-count: must be a non-negative integer"
    )


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        (("policy",), "policies[0].policy: is required"),
        (("summary",), "policies[0].summary: is required"),
    ],
)
def test_required_policy_parts(remove: tuple[str, ...], message: str) -> None:
    doc = report_doc()
    without(policy_of(doc), *remove)
    assert schema_error(doc) == message


def test_policy_type_is_required() -> None:
    doc = report_doc()
    del policy_of(doc)["policy"]["policy-type"]
    assert schema_error(doc) == "policies[0].policy.policy-type: is required"


@pytest.mark.parametrize("key", ["total-successful-session-count", "total-failure-session-count"])
def test_summary_counts_are_required(key: str) -> None:
    doc = report_doc()
    del policy_of(doc)["summary"][key]
    assert schema_error(doc) == f"policies[0].summary.{key}: is required"


def test_a_count_past_the_range_says_so() -> None:
    doc = report_doc()
    policy_of(doc)["summary"]["total-successful-session-count"] = 2**63
    assert schema_error(doc) == (
        "policies[0].summary.total-successful-session-count: "
        "must be a non-negative integer below 2^63"
    )


def test_failure_detail_needs_a_result_type_and_a_count() -> None:
    doc = report_doc()
    without(policy_of(doc)["failure-details"][0], "result-type")
    assert schema_error(doc) == "policies[0].failure-details[0].result-type: is required"

    doc = report_doc()
    without(policy_of(doc)["failure-details"][0], "failed-session-count")
    assert schema_error(doc) == "policies[0].failure-details[0].failed-session-count: is required"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"policy-string": [1]}, "policies[0].policy.policy-string[0]: must be a string"),
        ({"mx-host": {"a": 1}}, "policies[0].policy.mx-host: must be an array of strings"),
        ({"policy-domain": 7}, "policies[0].policy.policy-domain: must be a string"),
    ],
)
def test_wrong_types_in_a_policy(fields: dict[str, Any], message: str) -> None:
    assert schema_error(with_policy(**fields)) == message


def test_failure_details_must_be_an_array_of_objects() -> None:
    doc = report_doc()
    policy_of(doc)["failure-details"] = {"result-type": "x"}
    assert schema_error(doc) == "policies[0].failure-details: must be an array"

    policy_of(doc)["failure-details"] = ["x"]
    assert schema_error(doc) == "policies[0].failure-details[0]: must be an object"


def test_a_tlsa_policy_string_holding_nan_is_kept_as_text() -> None:
    from reports.tlsrpt import Limits, parse_report

    doc = {
        "organization-name": "Microsoft Corporation",
        "date-range": {
            "start-datetime": "2025-05-23T00:00:00Z", "end-datetime": "2025-05-23T23:59:59Z"
        },
        "report-id": "x",
        "policies": [{
            "policy": {
                "policy-type": "tlsa", "policy-string": ["[NaN]"], "policy-domain": "a.example"
            },
            "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0},
        }],
    }  # fmt: skip

    report = parse_report(json.dumps(doc).encode(), Limits())

    assert report.policies[0].policy_strings == ["[NaN]"]


def test_a_nul_character_in_a_text_field_becomes_the_replacement_character() -> None:
    from reports.tlsrpt import Limits, parse_report

    raw = (
        b'{"organization-name": "Ex\\u0000ample", "report-id": "r\\u0000", "date-range": '
        b'{"start-datetime": "2025-01-01T00:00:00Z", "end-datetime": "2025-01-01T23:59:59Z"},'
        b'"policies": [{"policy": {"policy-type": "sts", "policy-string": ["mx: a\\u0000"]},'
        b'"summary": {"total-successful-session-count": 1, "total-failure-session-count": 0}}]}'
    )

    report = parse_report(raw, Limits())

    assert (report.organization_name, report.report_id) == ("Ex\ufffdample", "r\ufffd")
    assert report.policies[0].policy_strings == ["mx: a\ufffd"]
