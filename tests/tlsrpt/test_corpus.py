"""Every real report in tests/data/corpus parses, with the figures read off the files by hand.

The values below were read from the files themselves (the .eml attachments decoded by
hand with base64 and zcat), not produced by running the parser.
"""

# ruff: noqa: E501  - the table keeps one corpus file per entry, as read

import gzip
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from reports.tlsrpt import Envelope, TlsRptError, extract
from tests.tlsrpt.builders import CORPUS, corpus

PolicyFigures = tuple[str, str | None, int, int, int]  # type, domain, successful, failed, details
HeaderFigures = tuple[
    str | None, str | None, str, str, str
]  # domain, submitter, subject id, from, message-id


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Expected:
    organization: str
    report_id: str
    start: str
    end: str
    contact: str | None
    policies: tuple[PolicyFigures, ...]
    # For e-mails: the attachment's file name and the header facts.
    filename: str | None = None
    headers: HeaderFigures | None = None


GOOGLE = "smtp-tls-reporting@google.com"
MICROSOFT = "tlsrpt-noreply@microsoft.com"
GOOGLE_FROM = "noreply-smtp-tls-reporting@google.com"

# fmt: off
EXPECTED: dict[str, Expected] = {
    "google-2019-12-sts-enforce-773-sessions-blog-prettified.json": Expected(
        "Google Inc.", "2019-12-11T00:00:00Z_example.com", "2019-12-11 00:00:00", "2019-12-11 23:59:59", GOOGLE,
        (("sts", "example.com", 773, 0, 0),)),
    "google-2020-02-three-policies-validation-failures-mailflow.json": Expected(
        "Google Inc.", "2020-02-06T00:00:00Z_test.mailflow.ovh", "2020-02-06 00:00:00", "2020-02-06 23:59:59", GOOGLE,
        (("no-policy-found", "test.mailflow.ovh", 1, 0, 0), ("sts", "test.mailflow.ovh", 0, 3, 3), ("sts", "test.mailflow.ovh", 0, 10, 5))),
    "google-2020-03-no-policy-found-fastmail.eml": Expected(
        "Google Inc.", "2020-03-02T00:00:00Z_fastmaildmarc.com", "2020-03-02 00:00:00", "2020-03-02 23:59:59", GOOGLE,
        (("no-policy-found", "fastmaildmarc.com", 343, 0, 0),),
        "google.com!fastmaildmarc.com!1583107200!1583193599!001.json.gz",
        ("fastmaildmarc.com", "google.com", "2020.03.02T00.00.00Z+fastmaildmarc.com@google.com", GOOGLE_FROM, "00000000000013b408059ff0b6f0@google.com")),
    "google-2020-03-no-policy-found-fastmail.json.gz": Expected(
        "Google Inc.", "2020-03-02T00:00:00Z_fastmaildmarc.com", "2020-03-02 00:00:00", "2020-03-02 23:59:59", GOOGLE,
        (("no-policy-found", "fastmaildmarc.com", 343, 0, 0),)),
    "google-2022-01-sts-digilicious.eml": Expected(
        "Google Inc.", "2022-01-09T00:00:00Z_digilicious.com", "2022-01-09 00:00:00", "2022-01-09 23:59:59", GOOGLE,
        (("sts", "digilicious.com", 5, 0, 0),),
        "google.com!digilicious.com!1641686400!1641772799!001.json.gz",
        (None, None, "2022.01.09T00.00.00Z+digilicious.com@google.com", GOOGLE_FROM, "000000000000447d9005d537639c@google.com")),
    "google-2022-09-xmox.eml": Expected(
        "Google Inc.", "2022-09-15T00:00:00Z_test.xmox.nl", "2022-09-15 00:00:00", "2022-09-15 23:59:59", GOOGLE,
        (("sts", "test.xmox.nl", 3, 0, 0),),
        "google.com!test.xmox.nl!1663200000!1663286399!001.json.gz",
        ("test.xmox.nl", "google.com", "2022.09.15T00.00.00Z+test.xmox.nl@google.com", GOOGLE_FROM, "000000000000f47cc505e8c8905c@google.com")),
    "google-2022-11-sts-testing-anonymised.json": Expected(
        "Google Inc.", "2022-11-04T00:00:00Z_example.com", "2022-11-04 00:00:00", "2022-11-04 23:59:59", GOOGLE,
        (("sts", "example.com", 2, 0, 0),)),
    "google-2023-02-sts-blogreen-srs-forwarded.eml": Expected(
        "Google Inc.", "2023-02-02T00:00:00Z_blogreen.org", "2023-02-02 00:00:00", "2023-02-02 23:59:59", GOOGLE,
        (("sts", "blogreen.org", 1, 0, 0),),
        "google.com!blogreen.org!1675296000!1675382399!001.json.gz",
        ("blogreen.org", "google.com", "2023.02.02T00.00.00Z+blogreen.org@google.com", GOOGLE_FROM, "00000000000066453b05f3c8de51@google.com")),
    "google-2024-01-sts-validation-failure-anonymised.json": Expected(
        "Example Inc.", "2024-01-09T00:00:00Z_example.com", "2024-01-09 00:00:00", "2024-01-09 23:59:59", "smtp-tls-reporting@example.com",
        (("sts", "example.com", 0, 3, 2),)),
    "google-2024-02-sts-enforce-53-sessions-anonymised.json": Expected(
        "Google Inc.", "2024-02-17T00:00:00Z_example.com", "2024-02-17 00:00:00", "2024-02-17 23:59:59", GOOGLE,
        (("sts", "example.com", 53, 0, 0),)),
    "google-2024-09-15-sts-enforce-krvtz.eml": Expected(
        "Google Inc.", "2024-09-15T00:00:00Z_krvtz.net", "2024-09-15 00:00:00", "2024-09-15 23:59:59", GOOGLE,
        (("sts", "krvtz.net", 1, 0, 0),),
        "google.com!krvtz.net!1726358400!1726444799!001.json.gz",
        ("krvtz.net", "google.com", "2024.09.15T00.00.00Z+krvtz.net@google.com", GOOGLE_FROM, "66e813b9.050a0220.395bc2.4615tls@google.com")),
    "google-2024-09-18-sts-enforce-krvtz.eml": Expected(
        "Google Inc.", "2024-09-18T00:00:00Z_krvtz.net", "2024-09-18 00:00:00", "2024-09-18 23:59:59", GOOGLE,
        (("sts", "krvtz.net", 2, 0, 0),),
        "google.com!krvtz.net!1726617600!1726703999!001.json.gz",
        ("krvtz.net", "google.com", "2024.09.18T00.00.00Z+krvtz.net@google.com", GOOGLE_FROM, "66ec0644.050a0220.86df2.1302tls@google.com")),
    "google-2024-09-no-policy-found-cardinalhealth.eml": Expected(
        "Google Inc.", "2024-09-03T00:00:00Z_cardinalhealth.ca", "2024-09-03 00:00:00", "2024-09-03 23:59:59", GOOGLE,
        (("no-policy-found", "cardinalhealth.ca", 48, 0, 0),),
        "google.com!cardinalhealth.ca!1725321600!1725407999!001.json.gz",
        ("cardinalhealth.ca", "google.com", "2024.09.03T00.00.00Z+cardinalhealth.ca@google.com", GOOGLE_FROM, "66d83c20.050a0220.a0566.1e8dtls@google.com")),
    "google-2025-03-no-policy-found.json": Expected(
        "Google Inc.", "2025-03-27T00:00:00Z_foo-bar.io", "2025-03-27 00:00:00", "2025-03-27 23:59:59", GOOGLE,
        (("no-policy-found", "foo-bar.io", 1, 0, 0),)),
    "google-2025-04-no-policy-found-minified.json": Expected(
        "Google Inc.", "2025-04-12T00:00:00Z_domain.de", "2025-04-12 00:00:00", "2025-04-12 23:59:59", GOOGLE,
        (("no-policy-found", "domain.de", 2, 0, 0),)),
    "google-2025-05-sts-enforce-mxhost-array.json": Expected(
        "Google Inc.", "2025-05-22T00:00:00Z_foo-bar.io", "2025-05-22 00:00:00", "2025-05-22 23:59:59", GOOGLE,
        (("sts", "foo-bar.io", 1, 0, 0),)),
    "google-2025-06-sts-wildcard-mx-migadu-reformatted.json": Expected(
        "Google Inc.", "2025-06-01T00:00:00Z_maxchernoff.ca", "2025-06-01 00:00:00", "2025-06-01 23:59:59", GOOGLE,
        (("sts", "maxchernoff.ca", 3, 0, 0),)),
    "google-2026-05-11-sts-enforce-fastmail-anonymised.eml": Expected(
        "Google Inc.", "2026-05-11T00:00:00Z_example.com", "2026-05-11 00:00:00", "2026-05-11 23:59:59", GOOGLE,
        (("sts", "example.com", 1, 0, 0),),
        "google.com!example.com!1778457600!1778543999!001.json.gz",
        ("example.com", "google.com", "2026.05.11T00.00.00Z+example.com@google.com", GOOGLE_FROM, "6a034af0.00000000.3a4de4.4c68tls@google.com")),
    "google-2026-05-12-sts-enforce-fastmail-anonymised.eml": Expected(
        "Google Inc.", "2026-05-12T00:00:00Z_example.com", "2026-05-12 00:00:00", "2026-05-12 23:59:59", GOOGLE,
        (("sts", "example.com", 4, 0, 0),),
        "google.com!example.com!1778544000!1778630399!001.json.gz",
        ("example.com", "google.com", "2026.05.12T00.00.00Z+example.com@google.com", GOOGLE_FROM, "6a049c05.00000000.3554e0.3524tls@google.com")),
    "google-2026-08-sts-testing-karlsen.json": Expected(
        "Google Inc.", "2026-08-27T00:00:00Z_karlsen.fr", "2026-08-27 00:00:00", "2026-08-27 23:59:59", GOOGLE,
        (("sts", "karlsen.fr", 2, 0, 0),)),
    "mailru-2023-01-sts-fetch-timeout-krvtz.eml": Expected(
        "Mail.ru", "c96d67df-0440-57f7-6e96-c83824d0fdf2@mail.ru", "2023-01-25 00:00:00", "2023-01-26 00:00:00", "tls_support@corp.mail.ru",
        (("sts", "krvtz.net", 0, 1, 1),),
        "mail.ru!krvtz.net!1674604800!1674691200!001.json.gz",
        ("krvtz.net", "mail.ru", "c96d67df-0440-57f7-6e96-c83824d0fdf2@mail.ru", "noreply-smtp-tls-reporting@corp.mail.ru", "c96d67df-0440-57f7-6e96-c83824d0fdf2@mail.ru")),
    "mailru-2024-02-sts-fetch-error.json": Expected(
        "Mail.ru", "b28254de-7b2e-be36-bb5c-4c3b92da8b25@mail.ru", "2024-02-22 00:00:00", "2024-02-23 00:00:00", "tls_support@corp.mail.ru",
        (("sts", "example.com", 0, 1, 2),)),
    "microsoft-2023-01-no-timezone-xmox.eml": Expected(
        "Microsoft Corporation", "133198585438131172+test.xmox.nl", "2023-01-10 00:00:00", "2023-01-10 23:59:59", MICROSOFT,
        (("sts", "test.xmox.nl", 2, 0, 0),),
        "microsoft.com!test.xmox.nl!1673308800!1673395199!133198585438131172.json.gz",
        ("test.xmox.nl", "microsoft.com", "133198585438131172+test.xmox.nl", MICROSOFT, "133198585438131172+test.xmox.nl@test.xmox.nl")),
    "microsoft-2024-02-sts-enforce-anonymised.json": Expected(
        "Microsoft Corporation", "133526718584528772+example.com", "2024-02-16 00:00:00", "2024-02-16 23:59:59", MICROSOFT,
        (("sts", "example.com", 18, 0, 0),)),
    "microsoft-2024-03-no-timezone-anonymised.json": Expected(
        "Microsoft Corporation", "133561180919336230+example.com", "2024-03-26 00:00:00", "2024-03-26 23:59:59", MICROSOFT,
        (("sts", "example.com", 7, 0, 0),)),
    "microsoft-2024-09-sts-and-tlsa-13-hashes-krvtz.eml": Expected(
        "Microsoft Corporation", "133708152202987951+krvtz.net", "2024-09-13 00:00:00", "2024-09-13 23:59:59", MICROSOFT,
        (("sts", "krvtz.net", 2, 0, 0), ("tlsa", "krvtz.net", 2, 0, 0)),
        "microsoft.com!krvtz.net!1726185600!1726271999!133708152202987951.json.gz",
        ("krvtz.net", "microsoft.com", "133708152202987951+krvtz.net", MICROSOFT, "133708152202987951+krvtz.net@krvtz.net")),
    "microsoft-2024-10-tlsa-and-sts-ueber-reformatted.json": Expected(
        "Microsoft Corporation", "133742711803146449+ueber.net", "2024-10-23 00:00:00", "2024-10-23 23:59:59", MICROSOFT,
        (("tlsa", "ueber.net", 7, 0, 0), ("sts", "ueber.net", 7, 0, 0))),
    "microsoft-2025-05-sts-and-tlsa.json": Expected(
        "Microsoft Corporation", "133925885310113267+random.net", "2025-05-23 00:00:00", "2025-05-23 23:59:59", MICROSOFT,
        (("sts", "random.net", 2, 0, 0), ("tlsa", "random.net", 2, 0, 0))),
    "microsoft-2025-06-sts-fetch-error-no-ip-no-mx.json": Expected(
        "Microsoft Corporation", "133944884956529435+", "2025-06-14 00:00:00", "2025-06-14 23:59:59", MICROSOFT,
        (("sts", "xxxxxxxx.xx", 0, 3, 1),)),
    "microsoft-2025-08-sts-enforce-protonmail.json.gz": Expected(
        "Microsoft Corporation", "133988091029006454+josh.scot", "2025-08-03 00:00:00", "2025-08-03 23:59:59", MICROSOFT,
        (("sts", "josh.scot", 2, 0, 0),)),
    "microsoft-2026-05-sts-enforce-html-body-anonymised.eml": Expected(
        "Microsoft Corporation", "134232617934286362+example.com", "2026-05-13 00:00:00", "2026-05-13 23:59:59", MICROSOFT,
        (("sts", "example.com", 2, 0, 0),),
        "microsoft.com!example.com!1778630400!1778716799!134232617934286362.json.gz",
        ("example.com", "microsoft.com", "134232617934286362+example.com", MICROSOFT, "134232617934286362+example.com@example.com")),
    "microsoft-2026-08-tlsa-and-sts-testing-karlsen.json": Expected(
        "Microsoft Corporation", "134316476496435051+karlsen.fr", "2026-08-18 00:00:00", "2026-08-18 23:59:59", MICROSOFT,
        (("tlsa", "karlsen.fr", 4, 0, 0), ("sts", "karlsen.fr", 4, 0, 0))),
    "socketlabs-2020-02-certificate-host-mismatch-nonstandard-key.json": Expected(
        "socketlabs.com", "13B8FEDF21D3DBD6997654968E563122", "2020-02-27 00:00:00", "2020-02-28 00:00:00", "tlsrpt-feedback@socketlabs.com",
        (("sts", "test.mailflow.ovh", 12, 0, 0), ("sts", "test.mailflow.ovh", 0, 2, 1))),
    "stalwart-egressif-2024-10-no-policy-found-contact-null.json": Expected(
        "mx.egressif.io", "1730332800_11732957880687192466", "2024-10-31 00:00:00", "2024-11-01 00:00:00", None,
        (("no-policy-found", "redacted.example.com", 1, 0, 0),)),
    "stalwart-refluxstop-2026-01-sts-contact-null.json": Expected(
        "refluxstop.de", "1768089600_5665667737528564296", "2026-01-11 00:00:00", "2026-01-12 00:00:00", None,
        (("sts", "hin.ch", 1, 0, 0),)),
    "sys4-tlsrpt-reporter-sonne-2025-09-no-policy-found-no-policy-domain.json": Expected(
        "sonne.floppy.org", "2025-09-20T00:00:00Z_idx1_mpi-klsb.mpg.de", "2025-09-20 00:00:00", "2025-09-20 23:59:59", "smtp-tls-reporting@sonne.floppy.org",
        (("no-policy-found", None, 1, 0, 0),)),
}
# fmt: on

EMAILS = sorted(name for name in EXPECTED if name.endswith(".eml"))


def envelope(name: str) -> Envelope:
    return extract(corpus(name), filename=name)


def test_every_corpus_file_has_hand_read_expectations() -> None:
    on_disk = sorted(p.name for p in CORPUS.iterdir() if p.name != "SOURCES.md")
    assert sorted(EXPECTED) == on_disk


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_parses_to_the_hand_read_figures(name: str) -> None:
    expected = EXPECTED[name]
    found = envelope(name).reports

    assert len(found) == 1
    report = found[0].report
    assert report.organization_name == expected.organization
    assert report.report_id == expected.report_id
    assert (report.start, report.end) == (utc(expected.start), utc(expected.end))
    assert report.contact_info == expected.contact
    figures = tuple(
        (p.policy_type, p.policy_domain, p.successful, p.failed, len(p.failure_details))
        for p in report.policies
    )
    assert figures == expected.policies


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_keeps_its_name(name: str) -> None:
    expected_name = EXPECTED[name].filename or name
    assert envelope(name).reports[0].filename == expected_name


@pytest.mark.parametrize("name", EMAILS)
def test_corpus_email_header_facts(name: str) -> None:
    headers = envelope(name).headers

    assert headers is not None
    expected = EXPECTED[name].headers
    assert expected is not None
    domain, submitter, subject_id, sender, message_id = expected
    assert headers.tls_report_domain == domain
    assert headers.tls_report_submitter == submitter
    assert headers.subject_report_id == subject_id
    assert headers.from_address == sender
    assert headers.message_id == message_id
    # No key lookup function given: DKIM is not checked at all.
    assert (headers.dkim_result, headers.dkim_domain) == (None, None)


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - set(EMAILS)))
def test_bare_reports_have_no_headers(name: str) -> None:
    assert envelope(name).headers is None


@pytest.mark.parametrize(
    "name", [n for n in EXPECTED if n.endswith(".json") and not n.endswith(".json.gz")]
)
def test_raw_json_is_the_file_as_sent(name: str) -> None:
    assert envelope(name).reports[0].raw_json == corpus(name)


@pytest.mark.parametrize("name", [n for n in EXPECTED if n.endswith(".json.gz")])
def test_raw_json_of_a_gzip_file_is_its_decompressed_bytes(name: str) -> None:
    assert envelope(name).reports[0].raw_json == gzip.decompress(corpus(name))


def test_the_fastmail_email_and_its_attachment_give_the_same_report() -> None:
    from_mail = envelope("google-2020-03-no-policy-found-fastmail.eml").reports[0]
    from_file = envelope("google-2020-03-no-policy-found-fastmail.json.gz").reports[0]

    assert from_mail.report == from_file.report
    assert from_mail.raw_json == from_file.raw_json


def test_microsoft_tlsa_policy_string_is_expanded_to_its_13_records() -> None:
    report = envelope("microsoft-2024-09-sts-and-tlsa-13-hashes-krvtz.eml").reports[0].report
    tlsa = report.policies[1]

    assert tlsa.policy_type == "tlsa"
    assert len(tlsa.policy_strings) == 13
    assert tlsa.policy_strings[0] == (
        "2 1 1 025490860B498AB73C6A12F27A49AD5FE230FAFE3AC8F6112C9B7D0AAD46941D"
    )
    # The SHA-256 of the empty string, as Microsoft sent it.
    assert tlsa.policy_strings[10] == (
        "2 1 1 E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
    )
    assert tlsa.policy_strings[12] == (
        "2 1 1 F1647A5EE3EFAC54C892E930584FE47979B7ACD1C76C1271BCA1C5076D869888"
    )
    assert report.policies[0].policy_strings == [
        "version: STSv1",
        "mode: enforce",
        "mx: carp-20.krvtz.net",
        "max_age: 10368000",
    ]


@pytest.mark.parametrize(
    ("name", "index", "records"),
    [
        (
            "microsoft-2024-10-tlsa-and-sts-ueber-reformatted.json",
            0,
            [
                "3 1 1 5C046FF012891B5F0D6176024C5C25FF486A7C12B8000FDF8B418AB3ECF6D309",
                "3 1 1 CEC87FB33D2A7499CA78E824E59B77531AC1FDEC7378FC81FCE7E5D213A364AB",
            ],
        ),
        (
            "microsoft-2025-05-sts-and-tlsa.json",
            1,
            [
                "3 1 1 6007EEE553E85D8DF007A845D19EC343283D4E416E9A33F9EF3040C8B7C285BC",
                "3 1 1 837C773D54C2E2BD71871A3FC352BE8214D5646CBAE5E3091401A7274717998B",
            ],
        ),
        (
            "microsoft-2026-08-tlsa-and-sts-testing-karlsen.json",
            0,
            ["3 1 1 7FF8B87BB269715FEF08A0F4F0033D7A2F3B680470A30E878CEB2D3E244AF3EA"],
        ),
    ],
)
def test_microsoft_tlsa_records_are_one_per_entry(name: str, index: int, records: list) -> None:
    assert envelope(name).reports[0].report.policies[index].policy_strings == records


def test_google_2022_policy_strings_lose_their_carriage_returns() -> None:
    policy = envelope("google-2022-01-sts-digilicious.eml").reports[0].report.policies[0]

    assert policy.policy_strings == [
        "version: STSv1",
        "mode: enforce",
        "max_age: 2419200",
        "mx: digilicious.com",
    ]


def test_socketlabs_nonstandard_mx_key_is_read() -> None:
    report = envelope("socketlabs-2020-02-certificate-host-mismatch-nonstandard-key.json")
    first, second = report.reports[0].report.policies

    assert first.mx_hosts == ["mta-sts.test.mailflow.ovh"]
    assert second.mx_hosts == []
    detail = second.failure_details[0]
    assert detail.result_type == "certificate-host-mismatch"
    assert detail.sending_mta_ip == "142.0.177.133"
    assert detail.receiving_mx_hostname == "mta-sts.test.mailflow.ovh"
    assert detail.receiving_ip == "18.203.131.132"
    assert detail.failed_session_count == 2


def test_sys4_policy_without_domain() -> None:
    name = "sys4-tlsrpt-reporter-sonne-2025-09-no-policy-found-no-policy-domain.json"
    policy = envelope(name).reports[0].report.policies[0]

    assert policy.policy_domain is None
    assert (policy.policy_strings, policy.mx_hosts, policy.failure_details) == ([], [], [])


def test_stalwart_empty_arrays_and_mx_hosts() -> None:
    egressif = envelope("stalwart-egressif-2024-10-no-policy-found-contact-null.json")
    refluxstop = envelope("stalwart-refluxstop-2026-01-sts-contact-null.json")

    policy = egressif.reports[0].report.policies[0]
    assert (policy.policy_strings, policy.mx_hosts, policy.failure_details) == ([], [], [])
    assert refluxstop.reports[0].report.policies[0].mx_hosts == [
        "mx1.hin.ch",
        "mx2.hin.ch",
        "mx3.hin.ch",
        "mx4.hin.ch",
    ]


@pytest.mark.parametrize(
    ("name", "hosts"),
    [
        ("google-2025-05-sts-enforce-mxhost-array.json", ["*.foo-bar.io"]),
        ("google-2025-06-sts-wildcard-mx-migadu-reformatted.json", ["*.migadu.com"]),
        (
            "google-2026-05-11-sts-enforce-fastmail-anonymised.eml",
            ["in1-smtp.messagingengine.com", "in2-smtp.messagingengine.com"],
        ),
        ("microsoft-2024-02-sts-enforce-anonymised.json", []),
    ],
)
def test_mx_hosts(name: str, hosts: list[str]) -> None:
    assert envelope(name).reports[0].report.policies[0].mx_hosts == hosts


def test_mailru_fetch_error_details_without_ip_or_mx() -> None:
    report = envelope("mailru-2023-01-sts-fetch-timeout-krvtz.eml").reports[0].report
    detail = report.policies[0].failure_details[0]

    assert detail.result_type == "sts-policy-fetch-error"
    assert (detail.sending_mta_ip, detail.receiving_mx_hostname, detail.receiving_ip) == (
        None,
        None,
        None,
    )
    assert detail.failed_session_count == 1
    assert detail.failure_reason_code == (
        'unable to do http request: Get "https://mta-sts.krvtz.net/.well-known/mta-sts.txt": '
        "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    )


def test_mailru_failures_that_do_not_add_up_are_kept_as_sent() -> None:
    policy = envelope("mailru-2024-02-sts-fetch-error.json").reports[0].report.policies[0]

    assert policy.failed == 1
    assert [(d.failed_session_count, d.failure_reason_code) for d in policy.failure_details] == [
        (1, "bad https response code: 404"),
        (1, "bad https response code: 500"),
    ]
    assert policy.policy_strings == []


def test_microsoft_fetch_error_without_ip_or_mx() -> None:
    name = "microsoft-2025-06-sts-fetch-error-no-ip-no-mx.json"
    detail = envelope(name).reports[0].report.policies[0].failure_details[0]

    assert detail.result_type == "sts-policy-fetch-error"
    assert detail.failed_session_count == 3
    assert (detail.sending_mta_ip, detail.receiving_mx_hostname) == (None, None)


def test_google_validation_failure_details() -> None:
    name = "google-2020-02-three-policies-validation-failures-mailflow.json"
    policies = envelope(name).reports[0].report.policies

    assert [d.failed_session_count for d in policies[2].failure_details] == [1, 1, 4, 2, 2]
    first = policies[1].failure_details[0]
    assert (first.result_type, first.sending_mta_ip, first.receiving_ip) == (
        "validation-failure",
        "209.85.219.43",
        "18.203.131.132",
    )
    assert first.receiving_mx_hostname == "postfix1.test.mailflow.ovh"
    # The operator's own typo, kept as sent.
    assert "mx: test.maillfow.ovh" in policies[1].policy_strings


def test_every_signed_corpus_email_gets_a_dkim_verdict_without_dns() -> None:
    """With no key obtainable, signatures are temperror (or fail: expired, x=)."""

    def unreachable(name: bytes, timeout: float = 5) -> bytes:
        raise TimeoutError("no DNS in this test")

    for name in EMAILS:
        headers = extract(corpus(name), dkim_dnsfunc=unreachable).headers
        assert headers is not None
        if name == "google-2022-01-sts-digilicious.eml":
            assert (headers.dkim_result, headers.dkim_domain) == ("none", None)
        else:
            assert headers.dkim_result in ("temperror", "fail"), name
            assert headers.dkim_domain == SIGNING_DOMAIN[name.split("-")[0]]


SIGNING_DOMAIN = {"google": "google.com", "microsoft": "microsoft.com", "mailru": "corp.mail.ru"}


def test_a_corpus_email_trimmed_of_its_attachment_is_not_a_report() -> None:
    raw = corpus("google-2022-09-xmox.eml")
    trimmed = raw[: raw.index(b"Content-Type: application/tlsrpt+gzip")]

    with pytest.raises(TlsRptError) as caught:
        extract(trimmed)
    assert caught.value.code == "not_a_report"
