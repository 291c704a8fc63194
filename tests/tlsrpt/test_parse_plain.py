"""The plain path builds exactly what the lenient paths build, or steps aside.

``parse_report`` tries ``parse_plain.plain_report_or_none`` first, then the typed path,
then the checking path. These tests hold the plain path to the checking path
(``parse_report_checked``, which decides every error) on every corpus report, on the
benchmark's Google-shaped reports, on generated reports bent every way a value can need
normalizing, and on hostile edits of a plain report: whenever it answers, its answer is
the checking path's, and it never decides an error.
"""

import json
import random
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.messages import LARGE, TYPICAL, Case, report_json
from reports.tlsrpt import FailureDetail, Limits, TlsRptError, extract, parse_report
from reports.tlsrpt.parse import parse_report_checked
from reports.tlsrpt.parse_fast import report_or_none
from reports.tlsrpt.parse_plain import plain_report_or_none
from tests.tlsrpt.builders import CORPUS, corpus, report_doc
from tests.tlsrpt.test_duplicate_keys import every_key
from tests.tlsrpt.test_parse_fast import QUIRKS, _upper_hosts

LIMITS = Limits()
CORPUS_FILES = sorted(p.name for p in CORPUS.iterdir() if p.name != "SOURCES.md")


def minified(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def checked(raw: bytes, limits: Limits = LIMITS) -> Any:
    """The checking path's report, or its error code."""
    try:
        return parse_report_checked(raw, limits)
    except TlsRptError as e:
        return e.code


def parsed(raw: bytes, limits: Limits = LIMITS) -> Any:
    """``parse_report``'s report (whichever path built it), or its error code."""
    try:
        return parse_report(raw, limits)
    except TlsRptError as e:
        return e.code


def assert_agree(raw: bytes, limits: Limits = LIMITS) -> Any:
    """The plain path's answer (None or the checking path's report); every path agrees."""
    body = raw.removeprefix(b"\xef\xbb\xbf")
    plain, typed, slow = (
        plain_report_or_none(body, limits),
        report_or_none(body, limits),
        checked(raw, limits),
    )
    assert plain is None or plain == slow
    assert typed is None or typed == slow
    assert parsed(raw, limits) == slow
    return plain


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_reports_are_the_same_by_every_path(name: str) -> None:
    for found in extract(corpus(name)).reports:
        assert_agree(found.raw_json)
        assert_agree(minified(json.loads(found.raw_json)))


def test_minified_ascii_corpus_reports_take_the_plain_path() -> None:
    """Guards the speed: what senders send, minified, must not quietly leave it."""
    raws = [f.raw_json for name in CORPUS_FILES for f in extract(corpus(name)).reports]
    docs = [json.loads(raw) for raw in raws]
    plain = [d for d in docs if plain_report_or_none(minified(d), LIMITS) is not None]
    assert len(plain) >= 0.6 * len(docs), f"{len(plain)} of {len(docs)} took the plain path"


@pytest.mark.parametrize("case", [TYPICAL, LARGE], ids=lambda c: c.name)
def test_the_benchmarks_google_shaped_reports_take_the_plain_path(case: Case) -> None:
    rng = random.Random(8460)
    for serial in range(3):
        raw = minified(report_json(rng, case, serial))
        report = plain_report_or_none(raw, LIMITS)
        assert report is not None
        assert report == parse_report_checked(raw, LIMITS)


def test_failure_detail_is_built_alike_by_keyword_and_by_decoding() -> None:
    report = plain_report_or_none(minified(report_doc()), LIMITS)
    assert report is not None
    detail = report.policies[0].failure_details[0]

    assert detail == FailureDetail(
        result_type="certificate-expired",
        sending_mta_ip="192.0.2.10",
        receiving_mx_hostname="mx.example.org",
        receiving_ip="198.51.100.7",
        failed_session_count=2,
    )
    assert detail.receiving_mx_helo is detail.additional_information is None


# Edits of a plain report, each something the plain path must step aside for (or get
# right): the report is then built by another path, or refused by the checking path.
def _detail(doc: dict) -> dict:
    detail: dict = doc["policies"][0]["failure-details"][0]
    return detail


def _set(key: str, value: Any) -> Any:
    def edit(doc: dict) -> None:
        _detail(doc)[key] = value

    return edit


EDITS = {
    "padded result-type": _set("result-type", " certificate-expired"),
    "padded ip": _set("sending-mta-ip", "192.0.2.10 "),
    "blank result-type": _set("result-type", " "),
    "empty result-type": _set("result-type", ""),
    "empty ip": _set("sending-mta-ip", ""),
    "empty helo": _set("receiving-mx-helo", ""),
    "blank helo": _set("receiving-mx-helo", "  "),
    "helo kept as sent": _set("receiving-mx-helo", "MX.Example.ORG."),
    "null ip": _set("sending-mta-ip", None),
    "upper host": _set("receiving-mx-hostname", "MX.example.org"),
    "host with root dot": _set("receiving-mx-hostname", "mx.example.org."),
    "host only a dot": _set("receiving-mx-hostname", "."),
    "upper result-type kept": _set("result-type", "Certificate-Expired"),
    "tab escaped": _set("additional-information", "\tsee the log"),
    "newline escaped at end": _set("failure-reason-code", "421\n"),
    "nbsp": _set("additional-information", "see\u00a0"),
    "unicode text": _set("additional-information", "Zertifikat ungültig"),
    "escaped quote": _set("additional-information", 'the "mx"'),
    "nul": _set("additional-information", "a\u0000b"),
    "prose info name": lambda d: _detail(d).update({"additional-info-uri": "https://x.example"}),
    "socketlabs host name": lambda d: _detail(d).update({"receiving-mx-host-name": "MX.example."}),
    "unknown member": _set("x-extension", "1"),
    "count true": _set("failed-session-count", True),
    "count float": _set("failed-session-count", 2.0),
    "count negative": _set("failed-session-count", -1),
    "count too big": _set("failed-session-count", 2**63),
    "count string": _set("failed-session-count", "2"),
    "count missing": lambda d: _detail(d).pop("failed-session-count"),
    "result-type missing": lambda d: _detail(d).pop("result-type"),
    "ip a number": _set("sending-mta-ip", 7),
    "detail a list": lambda d: d["policies"][0].update({"failure-details": [[1]]}),
    "details null": lambda d: d["policies"][0].update({"failure-details": None}),
    "details empty": lambda d: d["policies"][0].update({"failure-details": []}),
    "padded organization": lambda d: d.update({"organization-name": " Example "}),
    "upper policy domain": lambda d: d["policies"][0]["policy"].update({"policy-domain": "EX."}),
    "contact null": lambda d: d.update({"contact-info": None}),
    "zoneless date": lambda d: d["date-range"].update({"end-datetime": "2026-11-01T23:59:59"}),
    "bad date": lambda d: d["date-range"].update({"end-datetime": "2026-11-01"}),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_an_edited_plain_report_is_the_same_by_every_path(edit: Any) -> None:
    doc = report_doc()
    edit(doc)
    for raw in (minified(doc), json.dumps(doc, ensure_ascii=False).encode()):
        assert_agree(raw)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"failed-session-count":2', b'"failed-session-count":-0'),
        (b'"report-id"', b' "report-id"'),
        (b"]}", b"] }"),
        (b'"mx-host":', b'"mx-host" :'),
        (b'"result-type":"', b'"result-type":"\x1f'),
        (b'"result-type":"', b'"result-type":"\x7f'),
        (b'"result-type":"', b'"result-type":"\\u0020'),
        (b'"result-type":"', b'"result-type":"\\u0000'),
        (b'"failed-session-count":2', b'"failed-session-count":2e0'),
        (b'"failed-session-count":2', b'"failed-session-count":02'),
    ],
    ids=[
        "minus zero", "space before key", "space after object", "space before colon",
        "raw control character", "raw delete", "escaped space", "escaped nul", "exponent",
        "leading zero",
    ],
)  # fmt: skip
def test_bytes_edited_in_a_plain_report_are_the_same_by_every_path(old: bytes, new: bytes) -> None:
    assert_agree(minified(report_doc()).replace(old, new, 1))


def test_many_spaces_still_find_the_padded_string() -> None:
    doc = report_doc()
    doc["policies"][0]["policy"]["policy-string"] = ["a b c d e f g h"] * 20
    _detail(doc)["additional-information"] = "ends in a space "
    raw = minified(doc)
    assert raw.count(b" ") > 100

    assert plain_report_or_none(raw, LIMITS) is None
    assert parse_report(raw, LIMITS) == parse_report_checked(raw, LIMITS)


@pytest.mark.parametrize(
    "where", list(every_key(report_doc())), ids=lambda where: "/".join(map(str, where))
)
@pytest.mark.parametrize("same", [True, False], ids=["same value", "other value"])
def test_any_key_repeated_in_a_minified_report_is_refused(where: tuple, same: bool) -> None:
    raw = _repeating(report_doc(), where, same).encode()

    assert plain_report_or_none(raw, LIMITS) is None
    assert parsed(raw) == "json_duplicate_key"


def _repeating(value: Any, where: tuple, same: bool, path: tuple = ()) -> str:
    """Minified JSON of ``value`` whose object at ``where[:-1]`` writes ``where[-1]`` twice."""
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            text = _repeating(item, where, same, (*path, key))
            if (*path, key) == where:
                items.append(f"{json.dumps(key)}:{text if same else json.dumps(None)}")
            items.append(f"{json.dumps(key)}:{text}")
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return (
            "["
            + ",".join(_repeating(v, where, same, (*path, i)) for i, v in enumerate(value))
            + "]"
        )
    return json.dumps(value)


@pytest.mark.parametrize(
    "limits",
    [Limits(max_failure_details=0), Limits(max_json_depth=4), Limits(max_json_depth=5)],
    ids=["details", "depth 4", "depth 5"],
)
def test_limits_hold_on_the_plain_path(limits: Limits) -> None:
    assert_agree(minified(report_doc()), limits)


# Generated plain-looking documents: ASCII values that may need every normalization.
ASCII = string.ascii_letters + string.digits + " .-:_@/"
values = st.text(ASCII, max_size=12)
maybe_values = st.none() | values
# The fast path's quirks but one that expects every host name present (generated here).
PLAIN_QUIRKS = [quirk for quirk in QUIRKS if quirk is not _upper_hosts]
host_values = st.sampled_from(["mx.example.org", "MX.example.org", "mx.example.org.", "."]) | values


@st.composite
def plain_details(draw: st.DrawFn) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "result-type": draw(values),
        "failed-session-count": draw(st.integers(0, 2**63 - 1)),
    }
    optional = {
        "sending-mta-ip": maybe_values,
        "receiving-mx-hostname": st.none() | host_values,
        "receiving-mx-helo": maybe_values,
        "receiving-ip": maybe_values,
        "additional-information": maybe_values,
        "failure-reason-code": maybe_values,
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            detail[key] = draw(strategy)
    return detail


@st.composite
def plain_documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = report_doc()
    doc["organization-name"] = draw(values)
    doc["report-id"] = draw(values)
    for policy in doc["policies"]:
        policy["failure-details"] = draw(st.lists(plain_details(), max_size=6))
    return doc


@settings(max_examples=400, deadline=None)
@given(plain_documents(), st.lists(st.sampled_from(PLAIN_QUIRKS), max_size=2))
def test_generated_plain_looking_reports_agree(doc: dict[str, Any], quirks: list) -> None:
    for quirk in quirks:
        quirk(doc)
    raw = minified(doc)

    plain = assert_agree(raw)

    if plain is None and not quirks and _as_stored(doc):
        raise AssertionError("a report whose values need no normalizing left the plain path")


def _as_stored(doc: dict[str, Any]) -> bool:
    """Whether every detail value is already what the parser stores."""
    for detail in (d for p in doc["policies"] for d in p["failure-details"]):
        for value in detail.values():
            if isinstance(value, str) and (not value or value != value.strip()):
                return False
            if value is None:
                return False  # an explicit null: left to the typed path by design
        host = detail.get("receiving-mx-hostname")
        if host is not None and (host != host.lower() or host.endswith(".")):
            return False
    return all(v == v.strip() and v for v in (doc["organization-name"], doc["report-id"]))
