"""The typed fast path builds exactly what the checking path builds, or steps aside.

``parse_report`` tries ``parse_fast.report_or_none`` first; these tests hold it to the
checking path (``parse_report_checked``) on every corpus report and on generated reports
bent with every quirk real senders have, and check that it never decides an error.
"""

import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.tlsrpt import Limits, TlsRptError, extract
from reports.tlsrpt.parse import parse_report_checked
from reports.tlsrpt.parse_fast import report_or_none
from tests.tlsrpt.builders import CORPUS, corpus, report_doc
from tests.tlsrpt.test_properties import document, reports

LIMITS = Limits()
CORPUS_FILES = sorted(p.name for p in CORPUS.iterdir() if p.name != "SOURCES.md")


def both(raw: bytes, limits: Limits = LIMITS) -> tuple[Any, Any]:
    """(fast path's report or None, checking path's report or error code)."""
    try:
        checked: Any = parse_report_checked(raw, limits)
    except TlsRptError as e:
        checked = e.code
    return report_or_none(raw.removeprefix(b"\xef\xbb\xbf"), limits), checked


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_reports_are_the_same_by_either_path(name: str) -> None:
    for found in extract(corpus(name)).reports:
        fast, checked = both(found.raw_json)
        assert fast is None or fast == checked
        assert found.report == checked


def test_most_corpus_reports_take_the_fast_path() -> None:
    """Guards the speed: the fast path must not quietly refuse what senders send."""
    raws = [f.raw_json for name in CORPUS_FILES for f in extract(corpus(name)).reports]
    fast = [raw for raw in raws if report_or_none(raw.removeprefix(b"\xef\xbb\xbf"), LIMITS)]
    assert len(fast) >= 0.8 * len(raws), f"{len(fast)} of {len(raws)} took the fast path"


def test_a_plain_report_takes_the_fast_path() -> None:
    assert report_or_none(json.dumps(report_doc()).encode(), LIMITS) is not None


# Quirks real senders have (SOURCES.md), each a change to a valid document.
def _pad(doc: dict) -> None:
    doc["organization-name"] = f"  {doc['organization-name']}\t"
    doc["report-id"] = f"{doc['report-id']} "


def _upper_hosts(doc: dict) -> None:
    for p in doc["policies"]:
        if "policy-domain" in p["policy"]:
            p["policy"]["policy-domain"] = p["policy"]["policy-domain"].upper() + "."
        for d in p["failure-details"]:
            if "receiving-mx-hostname" in d:
                d["receiving-mx-hostname"] = " " + d["receiving-mx-hostname"].upper() + ". "


def _mx_as_string(doc: dict) -> None:
    for p in doc["policies"]:
        p["policy"]["mx-host"] = (p["policy"].get("mx-host") or ["mx.example.org"])[0]


def _prose_names(doc: dict) -> None:
    for p in doc["policies"]:
        if "mx-host" in p["policy"]:
            p["policy"]["mx-host-pattern"] = p["policy"].pop("mx-host")
        for d in p["failure-details"]:
            if "additional-information" in d:
                d["additional-info-uri"] = d.pop("additional-information")
            if "receiving-mx-hostname" in d:
                d["receiving-mx-host-name"] = d.pop("receiving-mx-hostname")


def _both_mx_keys(doc: dict) -> None:
    for p in doc["policies"]:
        p["policy"]["mx-host"] = None
        p["policy"]["mx-host-pattern"] = ["mx.example.org"]


def _nulls_and_blanks(doc: dict) -> None:
    doc["contact-info"] = None
    for p in doc["policies"]:
        p["policy"]["policy-string"] = None
        p["policy"]["policy-domain"] = ""
        for d in p["failure-details"]:
            d["sending-mta-ip"] = ""
            d["receiving-ip"] = None


def _zoneless_dates(doc: dict) -> None:
    for key in ("start-datetime", "end-datetime"):
        doc["date-range"][key] = doc["date-range"][key][:19]


def _microsoft_tlsa(doc: dict) -> None:
    doc["policies"][0]["policy"]["policy-string"] = [json.dumps(["3 1 1 ab", "3 1 1 cd\r"])]


def _crlf_lines(doc: dict) -> None:
    for p in doc["policies"]:
        p["policy"]["policy-string"] = ["version: STSv1\r", "mode: enforce\r", "   "]


def _unknown_member(doc: dict) -> None:
    doc["x-extension"] = {"deep": [[[[{"a": 1}]]]]}


def _blank_result_type(doc: dict) -> None:
    for p in doc["policies"]:
        for d in p["failure-details"]:
            d["result-type"] = "  "


def _bad_count(doc: dict) -> None:
    doc["policies"][0]["summary"]["total-failure-session-count"] = True


def _bad_date(doc: dict) -> None:
    doc["date-range"]["end-datetime"] = "2026-11-01"


QUIRKS = [
    _pad, _upper_hosts, _mx_as_string, _prose_names, _both_mx_keys, _nulls_and_blanks,
    _zoneless_dates, _microsoft_tlsa, _crlf_lines, _unknown_member, _blank_result_type,
    _bad_count, _bad_date,
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(reports(), st.lists(st.sampled_from(QUIRKS), max_size=4), st.booleans())
def test_generated_reports_with_quirks_agree(
    generated: tuple[Any, datetime, datetime], quirks: list, bom: bool
) -> None:
    doc = document(*generated)
    for quirk in quirks:
        quirk(doc)
    raw = (b"\xef\xbb\xbf" if bom else b"") + json.dumps(doc, ensure_ascii=False).encode()

    fast, checked = both(raw)

    if fast is not None:
        assert fast == checked
    ordinary = not quirks or set(quirks) <= {_pad, _upper_hosts, _mx_as_string, _prose_names}
    # Text that merely looks like an escaped NUL is left to the checking path on purpose.
    if ordinary and b"\\u0000" not in raw:
        assert fast is not None, "a report every sender could send left the fast path"


@pytest.mark.parametrize(
    ("raw", "limits"),
    [
        (json.dumps(report_doc() | {"x-unknown": 1}).encode(), LIMITS),
        (json.dumps(report_doc(**{"contact-info": "a\u0000b"})).encode(), LIMITS),
        (json.dumps(report_doc()).encode(), Limits(max_json_depth=4)),
        (json.dumps(report_doc()).encode(), Limits(max_failure_details=0)),
        (json.dumps(report_doc()).replace('"Example', '"\\ud800').encode(), LIMITS),
        (json.dumps(report_doc()).encode().replace(b"Example", b"Ex\xffample"), LIMITS),
        (json.dumps(report_doc()).replace(": 2", ": 1" + "0" * 30, 1).encode(), LIMITS),
        (b"[]", LIMITS),
    ],
    ids=["unknown", "nul", "depth", "details", "surrogate", "utf8", "count", "array"],
)
def test_what_the_fast_path_leaves_to_the_checking_path(raw: bytes, limits: Limits) -> None:
    assert report_or_none(raw, limits) is None
