"""Finding reports by content in whatever carries them, and the carrier's header facts."""

import base64
import email.parser
import gzip
import io
import itertools
import json
import random
import zipfile
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.tlsrpt import Envelope, HeaderFacts, Limits, TlsRptError, extract, mime, split
from reports.tlsrpt.decode import Budget
from tests.tlsrpt.builders import (
    BOUNDARY,
    CORPUS,
    as_crlf,
    corpus,
    dumps,
    gzip_mail,
    part_of,
    report_doc,
    report_mail,
)

# -- finding reports by content


def found(data: bytes, **kwargs: Any) -> Envelope:
    envelope = extract(data, **kwargs)
    assert [r.report.report_id for r in envelope.reports] == ["2026-11-01T00:00:00Z_example.org"]
    return envelope


def test_tlsrpt_gzip_part_holding_plain_json() -> None:
    raw = dumps(report_doc())
    envelope = found(as_crlf(report_mail(raw, subtype="tlsrpt+gzip")))
    assert envelope.reports[0].raw_json == raw


def test_tlsrpt_json_part() -> None:
    found(as_crlf(report_mail(dumps(report_doc()), subtype="tlsrpt+json", filename="r.json")))


def test_application_json_attachment() -> None:
    found(as_crlf(report_mail(dumps(report_doc()), subtype="json", filename="report.json")))


def test_gzip_named_json() -> None:
    payload = gzip.compress(dumps(report_doc()))
    envelope = found(as_crlf(report_mail(payload, subtype="octet-stream", filename="r.json")))
    assert envelope.reports[0].filename == "r.json"


def test_a_file_name_alone_makes_a_part_worth_opening() -> None:
    payload = gzip.compress(dumps(report_doc()))
    found(as_crlf(report_mail(payload, subtype="x-unknown", filename="report.json.gz")))


def test_zip_attachment() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", b"not a report")
        archive.writestr("sender!example.org!1!2.json", dumps(report_doc()))

    envelope = found(as_crlf(report_mail(buffer.getvalue(), subtype="zip", filename="r.zip")))
    assert envelope.reports[0].filename == "sender!example.org!1!2.json"


def test_zip_holding_gzip() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("r.json.gz", gzip.compress(dumps(report_doc())))
    found(buffer.getvalue())


@pytest.mark.parametrize("wrap", [lambda d: d, gzip.compress], ids=["json", "gzip"])
def test_base64_text_upload(wrap: Any) -> None:
    text = base64.encodebytes(wrap(dumps(report_doc())))
    envelope = found(text, filename="report.b64")
    assert envelope.headers is None
    assert envelope.reports[0].filename == "report.b64"


def test_base64_text_in_a_part_without_transfer_encoding() -> None:
    message = report_mail(b"", subtype="tlsrpt+gzip")
    part = part_of(message, 1)
    del part["Content-Transfer-Encoding"]
    part.set_payload(base64.encodebytes(gzip.compress(dumps(report_doc()))).decode())
    found(as_crlf(message))


def test_a_bare_gzip_upload_keeps_the_given_name() -> None:
    envelope = found(gzip.compress(dumps(report_doc())), filename="report.json")
    assert envelope.reports[0].filename == "report.json"
    assert envelope.headers is None


def test_multi_member_gzip() -> None:
    raw = dumps(report_doc())
    payload = gzip.compress(raw[:50]) + gzip.compress(raw[50:])
    assert found(payload).reports[0].raw_json == raw


def test_report_forwarded_as_an_attached_message() -> None:
    outer = MIMEMultipart()
    outer["From"] = "postmaster@example.org"
    outer["Subject"] = "Fwd: TLS report"
    outer.attach(MIMEText("See the attached report."))
    outer.attach(MIMEMessage(report_mail(gzip.compress(dumps(report_doc())))))

    envelope = found(as_crlf(outer))
    assert envelope.headers is not None
    assert envelope.headers.from_address == "postmaster@example.org"


def test_report_nested_in_several_multiparts() -> None:
    inner = MIMEMultipart("mixed")
    inner.attach(MIMEText("layer"))
    inner.attach(report_mail(gzip.compress(dumps(report_doc()))))
    outer = MIMEMultipart("alternative")
    outer.attach(inner)
    found(as_crlf(outer))


@pytest.mark.parametrize("quoted", [True, False])
def test_report_type_quoted_or_not(quoted: bool) -> None:
    mail = as_crlf(report_mail(gzip.compress(dumps(report_doc())), report_type_quoted=quoted))
    assert (b'report-type="tlsrpt"' in mail) is quoted
    found(mail)


def test_lf_only_message() -> None:
    found(report_mail(gzip.compress(dumps(report_doc()))).as_bytes())


def test_message_without_closing_boundary() -> None:
    mail = as_crlf(report_mail(gzip.compress(dumps(report_doc()))))
    cut = mail[: mail.rindex(f"--{BOUNDARY}--".encode())]
    found(cut + f"--{BOUNDARY}\r\n\r\n".encode())


def test_8bit_json_part_keeps_its_exact_bytes() -> None:
    raw = json.dumps(report_doc(**{"organization-name": "Übermail"}), ensure_ascii=False).encode()
    part = MIMEBase("application", "tlsrpt+json")
    part.set_payload(raw)
    part["Content-Transfer-Encoding"] = "8bit"
    message = report_mail(b"", subtype="tlsrpt+json")
    message.set_payload([part_of(message, 0), part])

    envelope = found(as_crlf(message))

    assert envelope.reports[0].raw_json == raw
    assert envelope.reports[0].report.organization_name == "Übermail"


def test_every_report_in_a_message_is_returned() -> None:
    message = report_mail(gzip.compress(dumps(report_doc())))
    second = report_doc(**{"report-id": "second"})
    message.attach(part_of(report_mail(gzip.compress(dumps(second))), 1))

    envelope = extract(as_crlf(message))

    assert [r.report.report_id for r in envelope.reports] == [
        "2026-11-01T00:00:00Z_example.org",
        "second",
    ]


def test_human_readable_text_starting_with_a_brace_is_not_opened() -> None:
    message = report_mail(gzip.compress(dumps(report_doc())))
    part_of(message, 0).set_payload("{ this is prose, not JSON }")
    found(as_crlf(message))


# -- header facts


def header_facts(mail: bytes) -> HeaderFacts:
    headers = extract(mail).headers
    assert headers is not None
    return headers


def test_header_facts_of_an_rfc_message() -> None:
    headers = header_facts(gzip_mail(report_doc()))

    assert headers.tls_report_domain == "example.org"
    assert headers.tls_report_submitter == "sender.example"
    assert headers.subject_report_id == "2026.11.01T00.00.00Z+example.org@sender.example"
    assert headers.from_address == "tlsrpt@sender.example"
    assert headers.message_id == "abc123@sender.example"


def folded(subject: str) -> bytes:
    message = report_mail(gzip.compress(dumps(report_doc())))
    del message["Subject"]
    raw = as_crlf(message)
    return raw.replace(b"\r\n\r\n", b"\r\nSubject: " + subject.encode() + b"\r\n\r\n", 1)


@pytest.mark.parametrize(
    ("subject", "report_id"),
    [
        (
            "Report Domain: a.example Submitter: m.example Report-ID:\r\n 1331+a.example",
            "1331+a.example",
        ),
        (
            "Report\r\n Domain: a.example\r\n Submitter: m.example\r\n Report-ID: <u-1@m.example>",
            "u-1@m.example",
        ),
        ("Report Domain: a.example Report-ID: < spaced id >", "spaced id"),
        ("=?utf-8?q?Report_Domain=3A_a.example_Report-ID=3A_=3Cq=40m.example=3E?=", "q@m.example"),
        ("Report Domain: a.example", None),
        ("Report-ID:", None),
    ],
)
def test_subject_report_id(subject: str, report_id: str | None) -> None:
    assert header_facts(folded(subject)).subject_report_id == report_id


def test_header_values_are_normalised() -> None:
    mail = gzip_mail(
        report_doc(),
        extra_headers={"TLS-Report-Domain": "Example.ORG.", "Message-ID": "no-brackets@x"},
    )
    headers = header_facts(mail)

    assert headers.tls_report_domain == "example.org"
    assert headers.message_id == "no-brackets@x"


def test_missing_headers_are_none() -> None:
    message = report_mail(gzip.compress(dumps(report_doc())))
    for name in ("From", "Subject", "TLS-Report-Domain", "TLS-Report-Submitter", "Message-ID"):
        del message[name]

    headers = header_facts(as_crlf(message))

    assert (headers.tls_report_domain, headers.tls_report_submitter) == (None, None)
    assert (headers.subject_report_id, headers.from_address, headers.message_id) == (
        None,
        None,
        None,
    )


def test_non_ascii_header_bytes_do_not_break_anything() -> None:
    mail = gzip_mail(report_doc()).replace(
        b"TLS-Report-Submitter: sender.example", b"TLS-Report-Submitter: s\xe9nder.example"
    )
    assert header_facts(mail).tls_report_submitter == "s\ufffdnder.example"


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("<TLSRPT-noreply@Microsoft.com>", "tlsrpt-noreply@microsoft.com"),
        ("noreply-smtp-tls-reporting@google.com", "noreply-smtp-tls-reporting@google.com"),
        ('"Reports, Inc. <fake@x>" <real@sender.example>', "real@sender.example"),
        ("reports@sender.example (TLS Reporter)", "reports@sender.example"),
        ("=?utf-8?q?R=C3=A9ports?= <r@sender.example>", "r@sender.example"),
    ],
)
def test_from_address_is_the_addr_spec_lowercased(value: str, address: str) -> None:
    mail = gzip_mail(report_doc(), extra_headers={"From": value})
    assert header_facts(mail).from_address == address


# -- splitting multipart bodies: the fast path must read every message as the stdlib does

Shape = tuple[str, list[tuple[str, Any]], Any]


def shape(part: Message) -> Shape:
    # The payload as parsed, without get_payload()'s conversions; typeshed hides it.
    return (part.get_content_type(), list(part.raw_items()), part._payload)  # type: ignore[attr-defined]


def stdlib_leaves(data: bytes) -> tuple[list[Shape], int]:
    """The leaf parts of a plain stdlib parse, and how many parts it has in all."""
    parts = list(email.parser.BytesParser().parsebytes(data).walk())
    return [shape(p) for p in parts if not p.is_multipart()], len(parts)


def split_leaves(data: bytes, max_parts: int = 1000) -> tuple[list[Message], bool]:
    """The splitter's leaves; raises split.Unsupported where it leaves the stdlib to parse."""
    text = data.decode("ascii", "surrogateescape")
    message, body = split.parse_head(text, 0, len(text))
    return split.leaves(text, message, body, max_parts)


def assert_split_as_stdlib(data: bytes) -> list[Any]:
    """The splitter handles ``data`` and finds the stdlib's parts; returns the leaf payloads."""
    want, count = stdlib_leaves(data)
    found, too_many = split_leaves(data, max_parts=count)
    assert (not too_many, [shape(p) for p in found]) == (True, want)
    assert split_leaves(data, max_parts=count - 1)[1], "every part, containers too, counts"
    assert [shape(p) for p in mime.leaf_parts(mime.parse_message(data), Limits())] == want
    return [payload for _, _, payload in want]


def mail(body: str, boundary: str = "b", subtype: str = "mixed", nl: str = "\r\n") -> bytes:
    head = f"From: a@example.org\nContent-Type: multipart/{subtype}; boundary={boundary}\n\n"
    return (head + body).replace("\n", nl).encode()


TEXT = "Content-Type: text/plain\n\n"


def test_split_delimiter_at_the_start_of_the_body() -> None:
    assert assert_split_as_stdlib(mail(f"--b\n{TEXT}one\n--b\n{TEXT}two\n--b--\n")) == [
        "one",
        "two",
    ]


def test_split_ignores_preamble_and_epilogue() -> None:
    body = f"preamble --b\n\n--b\n{TEXT}one\n--b--\nepilogue\n--b\n{TEXT}not a part\n"
    assert assert_split_as_stdlib(mail(body)) == ["one"]


@pytest.mark.parametrize("end", ["", "\n", "\n\n"])
def test_split_without_close_delimiter_runs_to_the_end(end: str) -> None:
    # Mail.ru (Quirk 21): the last part ends with the data, less one line break.
    payloads = assert_split_as_stdlib(mail(f"--b\n{TEXT}one\n--b\n{TEXT}two{end}"))
    assert payloads == ["one", "two" + end[1:].replace("\n", "\r\n")]


@pytest.mark.parametrize(
    "line", ["text --b more", "x--b", "--bx", "--b-", "--b---", "--b x", " --b", "--B"]
)
def test_split_only_at_whole_delimiter_lines(line: str) -> None:
    payload = f"first\n{line}\nlast"
    assert assert_split_as_stdlib(mail(f"--b\n{TEXT}{payload}\n--b--\n")) == [
        payload.replace("\n", "\r\n")
    ]


@pytest.mark.parametrize("nl", ["\r\n", "\n", "\r"], ids=["crlf", "lf", "cr"])
def test_split_any_line_ending(nl: str) -> None:
    payloads = assert_split_as_stdlib(mail(f"--b\n{TEXT}one\n\n--b\n{TEXT}two\n--b--\n", nl=nl))
    assert payloads == ["one" + nl, "two"]


def test_split_mixed_line_endings() -> None:
    data = b"Content-Type: multipart/mixed; boundary=b\n\n--b\r\n\r\none\r--b\nX: 1\r\rtwo\n--b--"
    assert assert_split_as_stdlib(data) == ["one", "two"]


@pytest.mark.parametrize("space", [" ", "\t", " \t "])
def test_split_whitespace_after_a_delimiter(space: str) -> None:
    body = f"--b{space}\n{TEXT}one\n--b--{space}\nepilogue"
    assert assert_split_as_stdlib(mail(body)) == ["one"]


def test_split_nested_multipart() -> None:
    inner = (
        f"Content-Type: multipart/alternative; boundary=c\n\n--c\n{TEXT}one\n--c\n{TEXT}two\n--c--"
    )
    body = f"--b\n{inner}\n--b\n{TEXT}three\n--b--\n"
    assert assert_split_as_stdlib(mail(body)) == ["one", "two", "three"]


def test_split_nested_multipart_closed_by_the_outer_delimiter() -> None:
    inner = f"Content-Type: multipart/mixed; boundary=c\n\n--c\n{TEXT}one\n"
    assert assert_split_as_stdlib(mail(f"--b\n{inner}\n--b\n{TEXT}two\n--b--")) == [
        "one\r\n",
        "two",
    ]


@pytest.mark.parametrize("close", [True, False])
def test_split_forwarded_message(close: bool) -> None:
    report = as_crlf(report_mail(gzip.compress(dumps(report_doc())))).decode()
    if not close:
        report = report[: report.rindex(f"--{BOUNDARY}--")]
    body = f"--b\n{TEXT}See below.\n--b\nContent-Type: message/rfc822\n\n{report}\n--b--\n"
    payloads = assert_split_as_stdlib(mail(body).replace(b"\r\r\n", b"\r\n"))
    assert len(payloads) == 3


def test_split_digest_parts_default_to_messages() -> None:
    body = "--b\n\nSubject: enclosed\n\nhello\n--b\nContent-Type: text/plain\n\nplain\n--b--\n"
    assert assert_split_as_stdlib(mail(body, subtype="digest")) == ["hello", "plain"]


def test_split_headers_read_by_the_stdlib() -> None:
    # Folded headers, a trailing space before a folded parameter (Quirk 20), a part without
    # headers, one without an empty line, and one whose first line is not a header.
    body = (
        "--b\nContent-Type: application/tlsrpt+gzip; \n\tname=r.json.gz\nX: a\n b\n\nQUJD\n"
        "--b\n\nno headers\n--b\nX-Only: header\n--b\nnot a header\nbody\n--b--\n"
    )
    assert assert_split_as_stdlib(mail(body)) == ["QUJD", "no headers", "", "not a header\r\nbody"]


@pytest.mark.parametrize(
    "data",
    [
        mail(f"--b\n{TEXT}one\n--b--\n", boundary='""'),
        mail("no delimiter at all\n"),
        mail(f"--b--\n{TEXT}closed before opened\n"),
        mail(f"--b\n--b\n{TEXT}back to back\n--b--\n"),
        mail(f"--b\n{TEXT}one\n--b\n--b--\nepilogue"),
        b"Content-Type: multipart/mixed\r\n\r\n--b\r\nno boundary parameter\r\n",
        b'Content-Type: multipart/mixed; boundary="b\r\n c"\r\n\r\n--b\r\n c\r\n\r\nfolded\r\n',
        mail(
            "--b\nContent-Type: message/delivery-status\n\nStatus: 5.0.0\n\nAction: failed\n--b--"
        ),
        mail(f"--b\nX: 1\nFrom nobody\n\n{TEXT}\n--b--\n"),
        mail("--b\nX: 1\nFrom nobody\n\n--b--\n"),
        b"Content-Type: text/plain\r\nFrom nobody\r\n\r\nbody\r\n",
    ],
)
def test_odd_input_is_left_to_the_stdlib(data: bytes) -> None:
    want, _ = stdlib_leaves(data)
    with pytest.raises(split.Unsupported):
        split_leaves(data)
    assert [shape(p) for p in mime.leaf_parts(mime.parse_message(data), Limits())] == want


@pytest.mark.parametrize("nl", ["\r\n", "\n"], ids=["crlf", "lf"])
def test_only_header_blocks_go_through_the_stdlib_parser(
    nl: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fed: list[str] = []
    parse = split._HEADERS.parsestr

    def spy(text: str, headersonly: bool = False) -> Message:
        fed.append(text)
        return parse(text, headersonly)

    monkeypatch.setattr(split._HEADERS, "parsestr", spy)
    data = mail(f"--b\n{TEXT}body one\n--b\n{TEXT}body two\n\n--b--\n", nl=nl)
    assert len(split_leaves(data)[0]) == 2
    top = f"From: a@example.org{nl}Content-Type: multipart/mixed; boundary=b{nl}{nl}"
    assert fed == [top] + [f"Content-Type: text/plain{nl}{nl}"] * 2


def test_nesting_past_the_split_depth_is_left_to_the_stdlib() -> None:
    depth = split.MAX_DEPTH + 10
    head = "".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n" for i in range(depth)
    )
    data = (head + "Content-Type: application/json\n\n{}").encode()
    with pytest.raises(split.Unsupported):
        split_leaves(data)
    leaves = list(mime.leaf_parts(mime.parse_message(data), Limits()))
    assert [p.get_payload() for p in leaves] == ["{}"]


def test_too_many_parts_stops_the_split_where_the_stdlib_walk_stops() -> None:
    parts = "".join(f"--b\n{TEXT}{i}\n" for i in range(10_000))
    data = mail(f"preamble\n{parts}--b--\n")
    found, too_many = split_leaves(data, max_parts=10)
    assert too_many
    assert [p.get_payload() for p in found] == [str(i) for i in range(9)]
    leaves = mime.leaf_parts(mime.parse_message(data), Limits(max_mime_parts=10))
    assert [p.get_payload() for p in itertools.islice(leaves, 9)] == [str(i) for i in range(9)]
    with pytest.raises(TlsRptError) as error:
        next(leaves)
    assert error.value.code == "too_many_parts"


EMAIL_FILES = sorted(path.name for path in CORPUS.glob("*.eml"))


@pytest.mark.parametrize("name", EMAIL_FILES)
def test_corpus_email_splits_as_the_stdlib_parses(name: str) -> None:
    data = corpus(name)
    assert_split_as_stdlib(data)

    def documents_of(message: Message) -> list[tuple[bytes, str | None]]:
        found = mime.find_documents(message, Limits(), Budget(Limits().max_decompressed_bytes))
        return [(d.raw, d.name) for d in found]

    fast = documents_of(mime.parse_message(data))
    assert fast
    assert fast == documents_of(email.parser.BytesParser().parsebytes(data))


def test_corpus_has_emails() -> None:
    assert len(EMAIL_FILES) >= 13


NLS = ["\r\n", "\n", "\r"]
LINES = [
    *["--b", "--b--", "--c", "--c--", "--b ", "--b--\t", "--bx", "x--b", "--b-", ""],
    *["Content-Type: multipart/mixed; boundary=b", "Content-Type: multipart/digest; boundary=c"],
    *["Content-Type: message/rfc822", "Content-Type: text/plain", "Content-Type: multipart/x"],
    *["X: y", " folded", "\tfolded", "", "From x", "body", ":bad", "not a header", "Subj: \xe9"],
]


def random_tree(rng: random.Random, depth: int, nl: str) -> str:
    headers: list[str] = ["X-A: 1"] if rng.random() < 0.3 else []
    kind = rng.random()
    if depth < 4 and kind < 0.35:
        boundary = rng.choice(["b", "bb", "=_x", "b c", ""]) + str(depth)
        subtype = rng.choice(["mixed", "report", "digest", "alternative"])
        headers.append(f'Content-Type: multipart/{subtype}; boundary="{boundary}"')
        body: list[str] = [f"preamble --{boundary}{nl}"] if rng.random() < 0.3 else []
        for _ in range(rng.randrange(1, 4)):
            body.append(f"--{boundary}{rng.choice(['', ' ', '', chr(9)])}{nl}")
            body.append(random_tree(rng, depth + 1, nl) + rng.choice([nl, nl, nl + nl, ""]))
        if rng.random() < 0.8:
            body.append(f"--{boundary}--{rng.choice(['', ' '])}{rng.choice([nl, ''])}")
            if rng.random() < 0.3:
                body.append(f"epilogue{nl}--{boundary}{nl}")
        return nl.join(headers) + nl + nl + "".join(body)
    if depth < 4 and kind < 0.5:
        headers.append("Content-Type: message/rfc822")
        return nl.join(headers) + nl + nl + random_tree(rng, depth + 1, nl)
    if depth > 0 and kind < 0.6:
        return rng.choice(["", nl, "X: y", "body only", f"X: y{nl}body"])
    headers.append(rng.choice(["Content-Type: text/plain", "Content-Type: application/json"]))
    text = rng.choice(["hello", f"hello{nl}", "a --b0 mid", f"x{nl}--b0x", nl, "", f"a{nl}{nl}"])
    return nl.join(headers) + nl + nl + text


def random_message(rng: random.Random) -> bytes:
    if rng.random() < 0.3:
        # Line soup: delimiters, headers and text in any order, with any line ends.
        lines = [f"Content-Type: multipart/mixed; boundary=b{rng.choice(NLS)}{rng.choice(NLS)}"]
        lines += [rng.choice(LINES) + rng.choice(NLS) for _ in range(rng.randrange(30))]
        return "".join(lines).encode()
    text = random_tree(rng, 0, rng.choice(NLS))
    if rng.random() < 0.2:
        text = "".join(rng.choice(NLS) if c == "\n" else c for c in text.replace("\r\n", "\n"))
    return text.encode()


@settings(max_examples=600, deadline=None)
@given(st.randoms(use_true_random=False))
def test_random_messages_split_as_the_stdlib_parses(rng: random.Random) -> None:
    data = random_message(rng)
    try:
        assert_split_as_stdlib(data)
    except split.Unsupported:
        # Odd input: the stdlib parses it, so the result is the stdlib's by construction.
        assert [shape(p) for p in mime.leaf_parts(mime.parse_message(data), Limits())] == (
            stdlib_leaves(data)[0]
        )
