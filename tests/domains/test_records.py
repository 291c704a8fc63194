"""Parsing and judging TLS-RPT and MTA-STS DNS records and MTA-STS policies: pure functions."""

import ast
from pathlib import Path

import pytest

from domains import records
from domains.findings import Finding, Level
from domains.records import (
    RecordError,
    StsPolicy,
    TlsRptRecord,
    mx_pattern_matches,
    parse_sts_policy,
    parse_sts_record,
    parse_tlsrpt_record,
    sts_policy_findings,
    sts_record_findings,
    tlsrpt_findings,
)

DOMAIN = "example.com"
MAILTO = "mailto:tok3n@reports.example.net"
HTTPS = "https://app.example.net/tlsrpt/tok3n"
OURS = [MAILTO, HTTPS]
GOOD = f"v=TLSRPTv1; rua={MAILTO}"
MX = ["mx1.example.com", "mx2.example.com"]


def codes(findings: list[Finding]) -> list[tuple[str, Level]]:
    return [(f.code, f.level) for f in findings]


def judge(*txt: str, apex: list[str] | None = None, ours: list[str] = OURS) -> list[Finding]:
    return tlsrpt_findings(list(txt), domain=DOMAIN, our_uris=ours, apex_records=apex)


def tlsrpt_error(text: str) -> RecordError:
    with pytest.raises(RecordError) as caught:
        parse_tlsrpt_record(text)
    return caught.value


def policy_error(text: str) -> str:
    with pytest.raises(RecordError) as caught:
        parse_sts_policy(text)
    return caught.value.code


def policy_text(
    version: str | None = "STSv1",
    mode: str | None = "enforce",
    mx: str | None = "mx1.example.com",
    max_age: str | None = "604800",
) -> str:
    """A policy file with these values; None leaves that line out."""
    lines = {"version": version, "mode": mode, "mx": mx, "max_age": max_age}
    return "".join(f"{key}: {value}\n" for key, value in lines.items() if value is not None)


def policy(
    mode: str = "enforce", max_age: int = 604800, mx: tuple[str, ...] = ("*.example.com",)
) -> StsPolicy:
    return StsPolicy("STSv1", mode, max_age, mx, {})


def judge_policy(p: StsPolicy, mx_hosts: list[str] = MX) -> list[Finding]:
    return sts_policy_findings(p, domain=DOMAIN, mx_hosts=mx_hosts)


# -- the modules stay free of Django


@pytest.mark.parametrize("module", ["records.py", "stspolicy.py"])
def test_it_imports_nothing_from_django(module: str) -> None:
    tree = ast.parse((Path(records.__file__).parent / module).read_text())
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [name for name in imported if name.split(".")[0] == "django"]


# -- parse_tlsrpt_record: valid records


@pytest.mark.parametrize(
    ("text", "rua"),
    [
        # RFC 8460 §3 examples
        ("v=TLSRPTv1;rua=mailto:reports@example.com", ("mailto:reports@example.com",)),
        (
            "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt",
            ("https://reporting.example.com/v1/tlsrpt",),
        ),
        (
            "v=TLSRPTv1; rua=mailto:reports@example.com,https://reporting.example.com/v1/tlsrpt",
            ("mailto:reports@example.com", "https://reporting.example.com/v1/tlsrpt"),
        ),
        (
            "v=TLSRPTv1; rua=mailto:a@example.com , mailto:b@example.com",
            ("mailto:a@example.com", "mailto:b@example.com"),
        ),
        ("v=TLSRPTv1; rua=mailto:a%2Cb@example.com", ("mailto:a%2Cb@example.com",)),
        ("v=TLSRPTv1; rua=mailto:a%21b%3Bc@example.com", ("mailto:a%21b%3Bc@example.com",)),
        ("v=TLSRPTv1; rua=mailto:reports@example.com;", ("mailto:reports@example.com",)),
        ("v=TLSRPTv1 ; rua=mailto:reports@example.com ;  ", ("mailto:reports@example.com",)),
        ("v=TLSRPTv1;\trua=mailto:reports@example.com", ("mailto:reports@example.com",)),
        ("v=TLSRPTv1; rua=MAILTO:reports@example.com", ("MAILTO:reports@example.com",)),
        (
            "v=TLSRPTv1; rua=https://r.example.com/t?key=abc&x=1",
            ("https://r.example.com/t?key=abc&x=1",),
        ),
    ],
)
def test_valid_records_parse_to_their_uris(text: str, rua: tuple[str, ...]) -> None:
    assert parse_tlsrpt_record(text) == TlsRptRecord(rua=rua, extensions={})


def test_extension_fields_are_kept_and_ignored() -> None:
    record = parse_tlsrpt_record("v=TLSRPTv1; ext.x-1=value; rua=mailto:r@example.com; Z9=1")
    assert record.rua == ("mailto:r@example.com",)
    assert record.extensions == {"ext.x-1": "value", "Z9": "1"}


def test_an_extension_name_may_have_32_characters() -> None:
    name = "a" * 32
    assert parse_tlsrpt_record(f"v=TLSRPTv1; rua=mailto:r@example.com; {name}=1").extensions == {
        name: "1"
    }


# -- parse_tlsrpt_record: invalid records


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("v=TLSRPTv1", "tlsrpt_rua_missing"),
        ("v=TLSRPTv1;", "tlsrpt_rua_missing"),
        ("v=TLSRPTv1; ruf=mailto:r@example.com", "tlsrpt_rua_missing"),
        ("v=TLSRPTv1; RUA=mailto:r@example.com", "tlsrpt_rua_missing"),
        ("v=TLSRPTv1; rua=", "tlsrpt_rua_empty"),
        ("v=TLSRPTv1; rua=mailto:r@example.com,", "tlsrpt_rua_empty"),
        ("v=TLSRPTv1; rua=mailto:a@example.com,,mailto:b@example.com", "tlsrpt_rua_empty"),
        ("v=TLSRPTv1; rua=r@example.com", "tlsrpt_rua_scheme"),
        ("v=TLSRPTv1; rua=http://reporting.example.com/tlsrpt", "tlsrpt_rua_scheme"),
        ("v=TLSRPTv1; rua=ftp://reporting.example.com/", "tlsrpt_rua_scheme"),
        ("v=TLSRPTv1; rua=mailto:a@example.com mailto:b@example.com", "tlsrpt_rua_invalid"),
        ("v=TLSRPTv1; rua=mailto:reports", "tlsrpt_rua_invalid"),
        ("v=TLSRPTv1; rua=mailto:@example.com", "tlsrpt_rua_invalid"),
        ("v=TLSRPTv1; rua=mailto:a%2@example.com", "tlsrpt_rua_invalid"),
        ("v=TLSRPTv1; rua=https:///tlsrpt", "tlsrpt_rua_invalid"),
        ("v=TLSRPTv1; rua=https://[::1/tlsrpt", "tlsrpt_rua_invalid"),
        ("v=TLSRPTv1; rua=mailto:r\u00e9@example.com", "tlsrpt_rua_invalid"),
        ("v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", "tlsrpt_rua_repeated"),
        ("v=TLSRPTv1; rua=mailto:a@example.com;mailto:b@example.com", "tlsrpt_field_malformed"),
        ("v=TLSRPTv1;; rua=mailto:r@example.com", "tlsrpt_field_malformed"),
        ("v=TLSRPTv1; rua=mailto:r@example.com;;", "tlsrpt_field_malformed"),
        ("v=TLSRPTv1; rua = mailto:r@example.com", "tlsrpt_field_malformed"),
        ("v=TLSRPTv1; rua=mailto:r@example.com; -x=1", "tlsrpt_field_malformed"),
        ("v=TLSRPTv1; rua=mailto:r@example.com; " + "a" * 33 + "=1", "tlsrpt_field_malformed"),
        ("v=TLSRPTv1; rua=mailto:r@example.com; x=", "tlsrpt_field_malformed"),
        ("v=TLSRPTv1; rua=mailto:r@example.com; x=a=b", "tlsrpt_field_malformed"),
        ("v=TLSRPTv1; rua=mailto:r@example.com; x=a b", "tlsrpt_field_malformed"),
        ("v=TLSRPTv1; rua=mailto:r@example.com; x", "tlsrpt_field_malformed"),
        ("v=TLSRPTv1 rua=mailto:r@example.com", "tlsrpt_version_invalid"),
        ("v=TLSRPTv10; rua=mailto:r@example.com", "tlsrpt_version_invalid"),
        ("v=TLSRPTv1, rua=mailto:r@example.com", "tlsrpt_version_invalid"),
        ("rua=mailto:r@example.com; v=TLSRPTv1", "tlsrpt_version_invalid"),
        ("v=tlsrptv1; rua=mailto:r@example.com", "tlsrpt_version_invalid"),
        (" v=TLSRPTv1; rua=mailto:r@example.com", "tlsrpt_version_invalid"),
    ],
)
def test_invalid_records_raise_their_code(text: str, code: str) -> None:
    assert tlsrpt_error(text).code == code


def test_a_missing_semicolon_after_the_version_is_named() -> None:
    assert "';'" in tlsrpt_error("v=TLSRPTv1 rua=mailto:r@example.com").message


def test_an_address_without_mailto_suggests_adding_it() -> None:
    assert "mailto:" in tlsrpt_error("v=TLSRPTv1; rua=r@example.com").message


def test_an_uppercase_rua_field_is_explained_as_case_sensitive() -> None:
    assert "case-sensitive" in tlsrpt_error("v=TLSRPTv1; RUA=mailto:r@example.com").message


def test_semicolon_separated_uris_suggest_commas() -> None:
    message = tlsrpt_error("v=TLSRPTv1; rua=mailto:a@example.com;mailto:b@example.com").message
    assert "commas" in message


def test_record_error_reads_as_its_message() -> None:
    error = tlsrpt_error("v=TLSRPTv1")
    assert str(error) == error.message
    assert repr(error).startswith("RecordError('tlsrpt_rua_missing'")


# -- tlsrpt_findings: the record in place


def test_a_valid_record_pointing_at_us_is_ok() -> None:
    findings = judge(GOOD)
    assert codes(findings) == [("tlsrpt_ok", Level.OK)]
    assert "_smtp._tls.example.com" in findings[0].message


@pytest.mark.parametrize(
    "rua",
    [
        HTTPS,
        "https://APP.example.net/tlsrpt/tok3n/",
        "mailto:TOK3N@Reports.Example.Net",
        "mailto:tok3n%40reports.example.net",
        "mailto:tok3n@reports.example.net!10m",
        f"mailto:someone@example.org,{MAILTO}",
    ],
)
def test_any_of_our_uris_in_any_spelling_counts_as_pointing_at_us(rua: str) -> None:
    findings = judge(f"v=TLSRPTv1; rua={rua}")
    assert ("tlsrpt_not_pointing_at_us", Level.WARNING) not in codes(findings)


@pytest.mark.parametrize(
    "rua",
    [
        "mailto:reports@example.com",
        "mailto:other@reports.example.net",
        "https://app.example.net/tlsrpt/TOK3N",
        "https://app.example.net/tlsrpt/tok3n/extra",
        "https://evil.example.org/tlsrpt/tok3n",
    ],
)
def test_a_record_without_our_uri_is_not_pointing_at_us(rua: str) -> None:
    assert codes(judge(f"v=TLSRPTv1; rua={rua}")) == [("tlsrpt_not_pointing_at_us", Level.WARNING)]


def test_not_pointing_at_us_fix_keeps_their_uris_and_adds_ours() -> None:
    [finding] = judge("v=TLSRPTv1; rua=mailto:r@example.com; ext=1")
    assert finding.fix == f"Add our address: v=TLSRPTv1; rua=mailto:r@example.com,{MAILTO}; ext=1"


def test_not_pointing_at_us_fix_drops_a_size_limit() -> None:
    findings = judge("v=TLSRPTv1; rua=mailto:r@example.com!10m")
    assert findings[-1].fix == f"Add our address: v=TLSRPTv1; rua=mailto:r@example.com,{MAILTO}"


def test_without_uris_of_ours_pointing_is_not_judged() -> None:
    assert codes(judge("v=TLSRPTv1; rua=mailto:r@example.com", ours=[])) == [
        ("tlsrpt_ok", Level.OK)
    ]


def test_a_dmarc_style_size_limit_is_a_warning_with_the_cleaned_record() -> None:
    findings = judge(f"v=TLSRPTv1; rua={MAILTO}!10m")
    assert codes(findings) == [("tlsrpt_rua_unencoded_exclamation", Level.WARNING)]
    assert findings[0].fix == f"Publish it as: v=TLSRPTv1; rua={MAILTO}"


@pytest.mark.parametrize("records", [None, [], ["google-site-verification=abc"]])
def test_no_record_is_missing_with_the_record_to_publish(records: list[str] | None) -> None:
    findings = tlsrpt_findings(records, domain=DOMAIN, our_uris=OURS)
    assert codes(findings) == [("tlsrpt_missing", Level.ERROR)]
    assert findings[0].fix == f"Publish this TXT record at _smtp._tls.example.com: {GOOD}"


def test_two_records_are_multiple_even_if_both_valid() -> None:
    findings = judge(GOOD, "v=TLSRPTv1; rua=mailto:r@example.com")
    assert codes(findings) == [("tlsrpt_multiple", Level.ERROR)]


def test_an_invalid_record_reports_its_parse_code() -> None:
    findings = judge("v=TLSRPTv1; rua=r@example.com")
    assert codes(findings) == [("tlsrpt_rua_scheme", Level.ERROR)]
    assert "_smtp._tls.example.com" in findings[0].message
    assert findings[0].fix.endswith(GOOD)


def test_other_records_at_the_name_are_ignored() -> None:
    assert codes(judge(GOOD, "some-verification=xyz")) == [("tlsrpt_ok", Level.OK)]


# -- tlsrpt_findings: near misses


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("v=TSLRPTv1; rua=mailto:r@example.com", "tlsrpt_version_typo"),
        ("v=TLSRPT1; rua=mailto:r@example.com", "tlsrpt_version_typo"),
        ("v=TLS-RPTv1; rua=mailto:r@example.com", "tlsrpt_version_typo"),
        ("v=TLSRPTv2; rua=mailto:r@example.com", "tlsrpt_version_typo"),
        ("v = TLSRPTv1; rua=mailto:r@example.com", "tlsrpt_version_typo"),
        ("v=TLSRPTV1; rua=mailto:r@example.com", "tlsrpt_version_case"),
        ("v=tlsrptv1; rua=mailto:r@example.com", "tlsrpt_version_case"),
        ("V=TLSRPTv1; rua=mailto:r@example.com", "tlsrpt_version_case"),
        ('"v=TLSRPTv1; rua=mailto:r@example.com"', "tlsrpt_version_not_first"),
        (" v=TLSRPTv1; rua=mailto:r@example.com", "tlsrpt_version_not_first"),
        ("rua=mailto:r@example.com; v=TLSRPTv1", "tlsrpt_version_not_first"),
        ("rua=mailto:r@example.com", "tlsrpt_version_missing"),
        ("v=spf1 include:_spf.example.net -all", "tlsrpt_spf_record"),
        ("v=DMARC1; p=none; rua=mailto:d@example.com", "tlsrpt_dmarc_record"),
        ("v=STSv1; id=20240101", "tlsrpt_sts_record"),
    ],
)
def test_a_near_miss_alone_is_an_error_beside_missing(text: str, code: str) -> None:
    assert codes(judge(text)) == [("tlsrpt_missing", Level.ERROR), (code, Level.ERROR)]


def test_a_near_miss_beside_a_working_record_is_a_warning() -> None:
    findings = judge(GOOD, "v=spf1 -all")
    assert codes(findings) == [("tlsrpt_spf_record", Level.WARNING)]


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("v=TLSRPTV1; rua=mailto:r@example.com", "v=TLSRPTv1; rua=mailto:r@example.com"),
        ("v=TLSRPT1;rua=mailto:r@example.com", "v=TLSRPTv1; rua=mailto:r@example.com"),
        ('"v=TLSRPTv1; rua=mailto:r@example.com"', "v=TLSRPTv1; rua=mailto:r@example.com"),
        ("rua=mailto:r@example.com; v=TLSRPTv1", "v=TLSRPTv1; rua=mailto:r@example.com"),
        ("rua=mailto:r@example.com", "v=TLSRPTv1; rua=mailto:r@example.com"),
    ],
)
def test_a_near_miss_fix_is_the_corrected_record(text: str, fix: str) -> None:
    near_miss = judge(text)[1]
    assert near_miss.fix == f"Publish it as: {fix}"
    assert "_smtp._tls.example.com" in near_miss.message


@pytest.mark.parametrize(
    ("text", "home"),
    [
        ("v=spf1 -all", "example.com itself"),
        ("v=DMARC1; p=reject", "_dmarc.example.com"),
        ("v=STSv1; id=1", "_mta-sts.example.com"),
    ],
)
def test_a_record_of_another_kind_is_sent_home(text: str, home: str) -> None:
    assert judge(text)[1].fix == f"Delete it here; publish it at {home}."


# -- tlsrpt_findings: the record at the apex


def test_a_record_at_the_apex_only_is_an_error_with_a_move() -> None:
    findings = judge(apex=["v=spf1 -all", "v=TLSRPTv1; rua=mailto:r@example.com"])
    assert codes(findings) == [("tlsrpt_missing", Level.ERROR), ("tlsrpt_at_apex", Level.ERROR)]
    assert findings[1].fix == (
        "Delete it at example.com and publish it at _smtp._tls.example.com instead."
    )


def test_a_leftover_record_at_the_apex_is_a_warning() -> None:
    findings = judge(GOOD, apex=["v=TLSRPTv1; rua=mailto:r@example.com"])
    assert codes(findings) == [("tlsrpt_at_apex", Level.WARNING)]


def test_other_records_at_the_apex_are_fine() -> None:
    assert codes(judge(GOOD, apex=["v=spf1 -all", "v=DMARC1; p=none"])) == [("tlsrpt_ok", Level.OK)]


# -- MTA-STS TXT record


@pytest.mark.parametrize(
    ("text", "policy_id"),
    [
        ("v=STSv1; id=20160831085700Z;", "20160831085700Z"),  # RFC 8461 §3.1 example
        ("v=STSv1;id=1", "1"),
        ("v=STSv1; id=" + "a" * 32, "a" * 32),
        ("v=STSv1; ext=x; id=abc ; ", "abc"),
    ],
)
def test_a_valid_sts_record_gives_its_id(text: str, policy_id: str) -> None:
    assert parse_sts_record(text) == policy_id
    found_id, findings = sts_record_findings([text, "unrelated"], domain=DOMAIN)
    assert (found_id, codes(findings)) == (policy_id, [("sts_record_ok", Level.OK)])


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("v=STSv1", "sts_record_bad_id"),
        ("v=STSv1; id=", "sts_record_bad_id"),
        ("v=STSv1; id=2024-01-01", "sts_record_bad_id"),
        ("v=STSv1; id=" + "a" * 33, "sts_record_bad_id"),
        ("v=STSv1; id=1; id=2", "sts_record_bad_id"),
        ("v=STSv1; id=1;; x=2", "sts_record_field_malformed"),
        ("v=STSv1 id=1", "sts_record_version_invalid"),
        ("v=STSv10; id=1", "sts_record_version_invalid"),
    ],
)
def test_an_invalid_sts_record_is_an_error_with_its_code(text: str, code: str) -> None:
    policy_id, findings = sts_record_findings([text], domain=DOMAIN)
    assert policy_id is None
    assert codes(findings) == [(code, Level.ERROR)]
    assert "_mta-sts.example.com" in findings[0].message


@pytest.mark.parametrize("records", [None, [], ["v=spf1 -all"]])
def test_no_sts_record_is_a_warning_explaining_deployment(records: list[str] | None) -> None:
    policy_id, findings = sts_record_findings(records, domain=DOMAIN)
    assert (policy_id, codes(findings)) == (None, [("sts_record_missing", Level.WARNING)])
    assert "https://mta-sts.example.com/.well-known/mta-sts.txt" in findings[0].fix
    assert "v=STSv1; id=" in findings[0].fix


def test_two_sts_records_are_multiple() -> None:
    policy_id, findings = sts_record_findings(["v=STSv1; id=1", "v=STSv1; id=2"], domain=DOMAIN)
    assert (policy_id, codes(findings)) == (None, [("sts_record_multiple", Level.ERROR)])


@pytest.mark.parametrize("text", ["v=stsv1; id=1", "V=STSv1; id=1", '"v=STSv1; id=1"'])
def test_a_misspelt_sts_version_is_an_error(text: str) -> None:
    policy_id, findings = sts_record_findings([text], domain=DOMAIN)
    assert (policy_id, codes(findings)) == (None, [("sts_record_version_invalid", Level.ERROR)])


# -- parse_sts_policy

RFC_POLICY = (  # RFC 8461 §3.2 example
    "version: STSv1\n"
    "mode: enforce\n"
    "mx: mail.example.com\n"
    "mx: *.example.net\n"
    "mx: backupmx.example.com\n"
    "max_age: 604800\n"
)


def test_the_rfc_example_policy_parses() -> None:
    assert parse_sts_policy(RFC_POLICY) == StsPolicy(
        version="STSv1",
        mode="enforce",
        max_age=604800,
        mx=("mail.example.com", "*.example.net", "backupmx.example.com"),
        extensions={},
    )


def test_crlf_lines_parse_like_lf_lines() -> None:
    assert parse_sts_policy(RFC_POLICY.replace("\n", "\r\n")) == parse_sts_policy(RFC_POLICY)


def test_values_are_trimmed_and_a_final_newline_is_optional() -> None:
    parsed = parse_sts_policy(
        "version:STSv1\nmode:   testing \t\nmx: mx.example.com  \nmax_age: 86400"
    )
    assert (parsed.mode, parsed.max_age, parsed.mx) == ("testing", 86400, ("mx.example.com",))


def test_unknown_keys_are_kept_as_extensions() -> None:
    parsed = parse_sts_policy(RFC_POLICY + "x-comment: hello world\n")
    assert parsed.extensions == {"x-comment": "hello world"}


def test_a_repeated_key_keeps_its_first_value() -> None:
    parsed = parse_sts_policy(RFC_POLICY + "mode: none\nmax_age: 1\n")
    assert (parsed.mode, parsed.max_age) == ("enforce", 604800)


def test_mode_none_needs_no_mx() -> None:
    assert parse_sts_policy("version: STSv1\nmode: none\nmax_age: 86400\n").mx == ()


@pytest.mark.parametrize("max_age", ["0", "31557600", "0000604800"])
def test_max_age_within_limits_parses(max_age: str) -> None:
    text = RFC_POLICY.replace("max_age: 604800", f"max_age: {max_age}")
    assert parse_sts_policy(text).max_age == int(max_age)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (policy_text(version=None), "sts_policy_bad_version"),
        (policy_text(version="STSv2"), "sts_policy_bad_version"),
        (policy_text(version="stsv1"), "sts_policy_bad_version"),
        (policy_text(mode=None), "sts_policy_bad_mode"),
        (policy_text(mode="Enforce"), "sts_policy_bad_mode"),
        (policy_text(mode="enforcing"), "sts_policy_bad_mode"),
        (policy_text(mode=None) + "Mode: enforce\n", "sts_policy_bad_mode"),
        (policy_text(max_age=None), "sts_policy_bad_max_age"),
        (policy_text(max_age="-1"), "sts_policy_bad_max_age"),
        (policy_text(max_age="1w"), "sts_policy_bad_max_age"),
        (policy_text(max_age="86400.0"), "sts_policy_bad_max_age"),
        (policy_text(max_age="31557601"), "sts_policy_bad_max_age"),
        (policy_text(max_age="00000000001"), "sts_policy_bad_max_age"),
        (policy_text(mx=None), "sts_policy_no_mx"),
        (policy_text(mode="testing", mx=None), "sts_policy_no_mx"),
        (policy_text(mx="10 mx1.example.com"), "sts_policy_bad_mx"),
        (policy_text(mx="mx1.example.com, mx2.example.com"), "sts_policy_bad_mx"),
        (policy_text(mx="mx1.example.com:25"), "sts_policy_bad_mx"),
        (policy_text(mx="*example.com"), "sts_policy_bad_mx"),
        (policy_text(mx="mx1.*.example.com"), "sts_policy_bad_mx"),
        (policy_text(mx=""), "sts_policy_bad_mx"),
        ("<!DOCTYPE html>\n<html></html>\n", "sts_policy_invalid"),
        ("version = STSv1\n" + policy_text(version=None), "sts_policy_invalid"),
        ("version : STSv1\n" + policy_text(version=None), "sts_policy_invalid"),
        ("  version: STSv1\n" + policy_text(version=None), "sts_policy_invalid"),
        ("\ufeff" + policy_text(), "sts_policy_invalid"),
        ("", "sts_policy_bad_version"),
    ],
)
def test_an_invalid_policy_raises_its_code(text: str, code: str) -> None:
    assert policy_error(text) == code


def test_a_capitalised_key_is_explained_as_case_sensitive() -> None:
    with pytest.raises(RecordError) as caught:
        parse_sts_policy(policy_text(mode=None) + "Mode: enforce\n")
    assert "case-sensitive" in caught.value.message


# -- mx_pattern_matches


@pytest.mark.parametrize(
    ("pattern", "host", "matches"),
    [
        ("mail.example.com", "mail.example.com", True),
        ("Mail.Example.COM", "mail.example.com", True),
        ("mail.example.com.", "MAIL.example.com", True),
        ("mail.example.com", "mail.example.com.", True),
        ("mail.example.com", "mail2.example.com", False),
        ("mail.example.com", "example.com", False),
        ("*.example.com", "mx1.example.com", True),
        ("*.example.com", "MX1.Example.Com.", True),
        ("*.example.com.", "mx1.example.com", True),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", "example.com", False),
        ("*.example.com", ".example.com", False),
        ("*.example.com", "mx1.example.org", False),
        ("*.example.com", "mx1.notexample.com", False),
    ],
)
def test_mx_pattern_matching(pattern: str, host: str, matches: bool) -> None:
    assert mx_pattern_matches(pattern, host) is matches


# -- sts_policy_findings


def test_an_enforced_policy_covering_every_mx_is_ok() -> None:
    assert codes(judge_policy(policy())) == [("sts_policy_ok", Level.OK)]


def test_a_testing_policy_is_a_warning_to_switch_to_enforce() -> None:
    findings = judge_policy(policy(mode="testing"))
    assert codes(findings) == [("sts_policy_testing", Level.WARNING)]
    assert "mode: enforce" in findings[0].fix
    assert "_mta-sts.example.com" in findings[0].fix


def test_a_none_policy_is_a_warning() -> None:
    assert codes(judge_policy(policy(mode="none", max_age=60, mx=()))) == [
        ("sts_policy_none", Level.WARNING)
    ]


def test_an_uncovered_mx_under_enforce_is_an_error_with_the_lines_to_add() -> None:
    findings = judge_policy(
        policy(mx=("mx1.example.com",)), ["mx1.example.com", "MX2.example.com."]
    )
    assert codes(findings) == [("sts_policy_mx_not_covered", Level.ERROR)]
    assert "MX2.example.com." in findings[0].message
    assert findings[0].fix.startswith(
        "Add to the policy:\nmx: mx2.example.com\nThen change the id="
    )


def test_an_uncovered_mx_under_testing_is_a_warning() -> None:
    findings = judge_policy(policy(mode="testing", mx=("mx1.example.com",)))
    assert codes(findings) == [
        ("sts_policy_testing", Level.WARNING),
        ("sts_policy_mx_not_covered", Level.WARNING),
    ]


def test_a_domain_without_mx_hosts_has_nothing_uncovered() -> None:
    assert codes(judge_policy(policy(mx=("mx.example.org",)), [])) == [("sts_policy_ok", Level.OK)]


@pytest.mark.parametrize(("max_age", "short"), [(0, True), (604799, True), (604800, False)])
def test_a_max_age_under_a_week_is_a_warning(max_age: int, short: bool) -> None:
    expected = (
        [("sts_policy_short_max_age", Level.WARNING)] if short else [("sts_policy_ok", Level.OK)]
    )
    assert codes(judge_policy(policy(max_age=max_age))) == expected


def test_every_policy_problem_is_reported_together() -> None:
    findings = judge_policy(policy(mode="testing", max_age=3600, mx=("mx1.example.com",)))
    assert codes(findings) == [
        ("sts_policy_testing", Level.WARNING),
        ("sts_policy_mx_not_covered", Level.WARNING),
        ("sts_policy_short_max_age", Level.WARNING),
    ]
