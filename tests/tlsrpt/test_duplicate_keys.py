"""A report whose object repeats a key is refused (``json_duplicate_key``), naming the key.

JSON leaves a repeated key's meaning open: Python's json and msgspec keep the last
value, other readers the first or an error. A report read one way here and another way
by a sender's own tools is not one to count.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from reports.tlsrpt import Limits, TlsRptError, extract, parse_report
from reports.tlsrpt.parse_fast import report_or_none
from tests.tlsrpt.postfix import postfix_report

LIMITS = Limits()


def encode(value: Any, path: tuple = (), repeat: tuple | None = None) -> str:
    """JSON of ``value``; the object at ``repeat[:-1]`` writes key ``repeat[-1]`` twice,
    first with a different value (a count one more, a string changed)."""
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if repeat is not None and repeat == (*path, key):
                items.append(f"{json.dumps(key)}: {json.dumps(_other(item))}")
            items.append(f"{json.dumps(key)}: {encode(item, (*path, key), repeat)}")
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(encode(v, (*path, i), repeat) for i, v in enumerate(value)) + "]"
    return json.dumps(value)


def _other(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return value + 1 if isinstance(value, int) else f"{value}.other"


def every_key(value: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from every_key(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from every_key(item, (*path, i))


def code_and_message(raw: bytes) -> tuple[str, str]:
    with pytest.raises(TlsRptError) as caught:
        parse_report(raw, LIMITS)
    return caught.value.code, caught.value.message


POSTFIX = postfix_report()


@pytest.mark.parametrize(
    "where", list(every_key(POSTFIX)), ids=lambda where: "/".join(map(str, where))
)
def test_any_key_repeated_in_any_object_is_refused_naming_it(where: tuple) -> None:
    raw = encode(POSTFIX, repeat=where).encode()
    assert json.loads(raw) == POSTFIX  # the last value is the right one: still refused

    code, message = code_and_message(raw)

    assert code == "json_duplicate_key"
    assert f'"{where[-1]}"' in message


def test_the_report_without_repeats_takes_the_fast_path() -> None:
    raw = encode(POSTFIX).encode()
    assert report_or_none(raw, LIMITS) == parse_report(raw, LIMITS)


def test_a_key_repeated_in_one_detail_and_missing_in_another_is_refused() -> None:
    """As many ``receiving-mx-helo`` keys as details: only counting per object sees it."""
    doc = postfix_report(dane=(0, 3), sts=(0, 4))
    detail = doc["policies"][0]["failure-details"][0]
    second = dict(detail, **{"failed-session-count": 0})
    del second["receiving-mx-helo"]
    doc["policies"][0]["failure-details"].append(second)
    raw = encode(doc, repeat=("policies", 0, "failure-details", 0, "receiving-mx-helo"))

    assert code_and_message(raw.encode())[0] == "json_duplicate_key"


def test_a_repeat_written_with_an_escaped_key_is_refused() -> None:
    raw = json.dumps(POSTFIX).replace('"report-id"', '"report\\u002did": "x", "report-id"', 1)

    code, message = code_and_message(raw.encode())

    assert (code, '"report-id"' in message) == ("json_duplicate_key", True)


def test_a_repeat_with_space_before_its_colon_is_refused() -> None:
    """Jackson's pretty printer writes ``"key" : value``."""
    raw = encode(POSTFIX, repeat=("policies", 1, "policy", "policy-domain")).replace('": ', '" : ')

    assert code_and_message(raw.encode())[0] == "json_duplicate_key"


@pytest.mark.parametrize("colon", [": ", " : "])
def test_key_names_and_colons_inside_strings_are_not_repeats(colon: str) -> None:
    doc = postfix_report()
    detail = doc["policies"][0]["failure-details"][0]
    detail["additional-information"] = f'a "report-id"{colon}1, "policy-domain"{colon}x'
    detail["failure-reason-code"] = "report-id"
    raw = json.dumps(doc).encode()

    report = parse_report(raw, LIMITS)

    assert report.policies[0].failure_details[0].failure_reason_code == "report-id"
    if colon == ": ":  # a colon after white space inside a string only costs the fast path
        assert report_or_none(raw, LIMITS) == report


def test_extract_refuses_a_posted_report_with_a_repeated_key() -> None:
    raw = encode(POSTFIX, repeat=("date-range", "start-datetime")).encode()

    with pytest.raises(TlsRptError) as caught:
        extract(raw)

    assert caught.value.code == "json_duplicate_key"
