"""Hostile and broken input is refused with the right code, fast and in bounded memory."""

import gzip
import io
import json
import time
import tracemalloc
import zipfile
import zlib

import pytest

from reports.tlsrpt import Limits, TlsRptError, extract, parse_report
from tests.tlsrpt.builders import (
    as_crlf,
    dumps,
    gzip_mail,
    part_of,
    policy_of,
    report_doc,
    report_mail,
)

MB = 1024 * 1024


def code_of(data: bytes, limits: Limits = Limits()) -> str:  # noqa: B008 - frozen
    with pytest.raises(TlsRptError) as caught:
        extract(data, limits=limits)
    return caught.value.code


def zeros_gzip(size: int) -> bytes:
    """One gzip member inflating to ``size`` zero bytes, built without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(MB)
    parts = [packer.compress(chunk) for _ in range(size // MB)]
    return b"".join(parts) + packer.flush()


def with_count(value: str) -> bytes:
    """A report whose failed-session-count is the JSON literal ``value``."""
    text = json.dumps(report_doc())
    return text.replace('"failed-session-count": 2', f'"failed-session-count": {value}').encode()


# -- decompression bombs


def test_a_small_gzip_inflating_past_a_small_limit_is_refused() -> None:
    bomb = gzip.compress(b'{"organization-name": "' + b" " * (4 * MB))
    assert len(bomb) < 8 * 1024

    assert code_of(bomb, Limits(max_decompressed_bytes=MB)) == "decompressed_too_large"


def test_a_gzip_bomb_past_the_default_limit_is_refused_fast_in_bounded_memory() -> None:
    # 100 members of 10 MB each: a gigabyte, of which at most the limit is ever held.
    bomb = zeros_gzip(10 * MB) * 100
    assert len(bomb) < 2 * MB

    tracemalloc.start()
    started = time.perf_counter()
    try:
        code = code_of(bomb)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert code == "decompressed_too_large"
    assert elapsed < 5
    assert peak < Limits().max_decompressed_bytes + 10 * MB


def test_a_single_member_gzip_bomb_is_refused() -> None:
    assert code_of(zeros_gzip(64 * MB)) == "decompressed_too_large"


def test_a_gzip_bomb_attached_to_an_email_is_refused() -> None:
    mail = as_crlf(report_mail(zeros_gzip(8 * MB)))
    assert code_of(mail, Limits(max_decompressed_bytes=MB)) == "decompressed_too_large"


def test_the_decompression_limit_counts_every_attachment_together() -> None:
    # Two parts of 600 KB each: each fits in 1 MB, both do not.
    payload = gzip.compress(dumps(report_doc()) + b" " * 600_000)
    message = report_mail(payload)
    message.attach(part_of(report_mail(payload), 1))

    assert code_of(as_crlf(message), Limits(max_decompressed_bytes=MB)) == (
        "decompressed_too_large"
    )


def test_a_zip_bomb_is_refused() -> None:
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("report.json", "w") as member,
    ):
        for _ in range(64):
            member.write(bytes(MB))

    assert len(buffer.getvalue()) < MB
    assert code_of(buffer.getvalue()) == "decompressed_too_large"


def test_a_zip_whose_members_add_up_past_the_limit_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(5):
            archive.writestr(f"r{i}.json", dumps(report_doc()) + b" " * 300_000)

    assert code_of(buffer.getvalue(), Limits(max_decompressed_bytes=MB)) == (
        "decompressed_too_large"
    )


def test_a_zip_with_too_many_files_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(11):
            archive.writestr(f"r{i}.json", b"{}")

    assert code_of(buffer.getvalue(), Limits(max_mime_parts=10)) == "too_many_parts"


def test_a_bzip2_zip_member_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("report.json", dumps(report_doc()))

    assert code_of(buffer.getvalue()) == "zip_invalid"


def test_a_corrupt_zip_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.json", dumps(report_doc()))

    assert code_of(buffer.getvalue()[:60]) == "zip_invalid"


# -- broken gzip


def test_a_truncated_gzip_is_refused() -> None:
    assert code_of(gzip.compress(dumps(report_doc()))[:-12]) == "gzip_invalid"


def test_a_gzip_cut_inside_its_header_is_refused() -> None:
    assert code_of(b"\x1f\x8b\x08") == "gzip_invalid"


def test_a_gzip_with_a_wrong_checksum_is_refused() -> None:
    data = bytearray(gzip.compress(dumps(report_doc())))
    data[-8] ^= 0xFF

    assert code_of(bytes(data)) == "gzip_invalid"


def test_a_gzip_followed_by_garbage_is_refused() -> None:
    assert code_of(gzip.compress(dumps(report_doc())) + b"garbage") == "gzip_invalid"


def test_a_truncated_gzip_attachment_is_refused() -> None:
    mail = as_crlf(report_mail(gzip.compress(dumps(report_doc()))[:-12]))
    assert code_of(mail) == "gzip_invalid"


# -- not JSON


def test_text_that_is_not_json_is_refused() -> None:
    assert code_of(b'{"organization-name": "Example", oops}') == "json_invalid"


def test_json_with_trailing_garbage_is_refused() -> None:
    assert code_of(dumps(report_doc()) + b" {}") == "json_invalid"


def test_a_gzip_upload_of_something_else_is_refused() -> None:
    assert code_of(gzip.compress(b"<feedback>a DMARC report</feedback>")) == "json_invalid"


def test_a_tlsrpt_attachment_that_is_not_json_is_refused() -> None:
    mail = as_crlf(report_mail(b"this is not a report", subtype="tlsrpt+json"))
    assert code_of(mail) == "json_invalid"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(literal: str) -> None:
    assert code_of(with_count(literal)) == "json_invalid"


def test_non_utf8_bytes_are_refused() -> None:
    data = dumps(report_doc()).replace(b"Example Sender", "Exämple".encode("latin-1"))
    assert code_of(data) == "encoding_invalid"


def test_utf16_json_is_refused() -> None:
    data = json.dumps(report_doc()).encode("utf-16")
    assert code_of(gzip.compress(data)) == "json_invalid"


# -- nesting


def test_json_nested_100k_deep_is_refused() -> None:
    data = b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert code_of(data) == "json_too_deep"


def test_json_nested_40_deep_is_refused() -> None:
    doc = report_doc(extension=json.loads("[" * 39 + "]" * 39))
    assert code_of(dumps(doc)) == "json_too_deep"


def test_json_nested_to_the_limit_is_accepted() -> None:
    doc = report_doc(extension=json.loads("[" * 31 + "]" * 31))
    assert extract(dumps(doc)).reports[0].report.organization_name == "Example Sender"


def test_a_deep_array_at_the_top_is_refused_by_the_parser() -> None:
    with pytest.raises(TlsRptError) as caught:
        parse_report(b"[" * 100_000 + b"]" * 100_000, Limits())
    assert caught.value.code == "json_too_deep"


# -- counts


@pytest.mark.parametrize(
    "literal",
    [
        "1" * 5000,  # past int()'s 4300-digit guard
        str(2**63),
        "-1",
        "true",
        "false",
        "1.0",
        "2e1",
        '"2"',
        "null",
        "[2]",
    ],
)
def test_counts_that_are_not_integers_in_range_are_refused(literal: str) -> None:
    assert code_of(with_count(literal)) == "schema_invalid"


def test_the_largest_count_is_accepted() -> None:
    report = extract(with_count(str(2**63 - 1))).reports[0].report
    assert report.policies[0].failure_details[0].failed_session_count == 2**63 - 1


def test_a_huge_integer_in_an_unknown_field_is_ignored() -> None:
    doc = dumps(report_doc()).replace(
        b'"policies"', b'"extension": ' + b"9" * 5000 + b', "policies"'
    )
    assert extract(doc).reports[0].report.report_id == "2026-11-01T00:00:00Z_example.org"


def test_too_many_failure_details_across_policies_are_refused() -> None:
    doc = report_doc()
    policy = policy_of(doc)
    doc["policies"] = [policy, json.loads(json.dumps(policy))]
    policy["failure-details"] = policy["failure-details"] * 3

    limits = Limits(max_failure_details=3)

    assert code_of(dumps(doc), limits) == "too_many_failure_details"


# -- messages


def test_a_message_with_10000_parts_is_refused() -> None:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(10_000))
    message = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + parts + b"--b--\r\n"

    assert code_of(message) == "too_many_parts"


def test_a_message_nested_thousands_deep_is_refused() -> None:
    depth = 5000
    head = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(depth)
    )
    tail = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))

    assert code_of(head + b"Content-Type: text/plain\r\n\r\nhi" + tail) == "too_many_parts"


def test_an_oversized_message_is_refused() -> None:
    assert code_of(b"x" * (25 * MB + 1)) == "message_too_large"


def test_the_message_size_limit_is_configurable() -> None:
    mail = gzip_mail(report_doc())
    assert code_of(mail, Limits(max_message_bytes=len(mail) - 1)) == "message_too_large"
    assert extract(mail, limits=Limits(max_message_bytes=len(mail))).reports


def test_an_email_without_a_report_is_not_a_report() -> None:
    mail = b"From: someone@example.org\r\nSubject: hello\r\n\r\nJust a note.\r\n"
    assert code_of(mail) == "not_a_report"


def test_an_email_with_only_an_unrelated_gzip_is_not_a_report() -> None:
    dmarc = gzip.compress(b"<?xml version='1.0'?><feedback/>")
    mail = as_crlf(report_mail(dmarc, subtype="gzip", filename="dmarc.xml.gz"))
    assert code_of(mail) == "not_a_report"


@pytest.mark.parametrize("data", [b"", b"   \r\n", b"\x00\x01\x02", b"[1, 2, 3]"])
def test_empty_or_meaningless_input_is_not_a_report(data: bytes) -> None:
    assert code_of(data) == "not_a_report"


def test_an_empty_zip_is_not_a_report() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", b"nothing here")
    assert code_of(buffer.getvalue()) == "not_a_report"


def test_one_broken_report_fails_the_whole_message() -> None:
    message = report_mail(gzip.compress(dumps(report_doc())))
    broken = report_mail(gzip.compress(with_count("-5")))
    message.attach(part_of(broken, 1))

    assert code_of(as_crlf(message)) == "schema_invalid"


def test_errors_carry_a_plain_message() -> None:
    with pytest.raises(TlsRptError) as caught:
        extract(with_count("-5"))

    error = caught.value
    assert str(error) == error.message
    assert error.message == (
        "policies[0].failure-details[0].failed-session-count: must be a non-negative integer"
    )
    assert "Traceback" not in error.message
