"""The operator commands: ingest (files, directories, Maildir, mbox, dry run), reprocess."""

import gzip
import json
import mailbox
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scope, scopes_disabled

from reports.models import InboundMessage, Report, Status
from tests.conftest import CORPUS
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import corpus_files
from tests.reports.mail import report_email, report_json

GOOGLE = CORPUS / "google-2024-09-15-sts-enforce-krvtz.eml"


def _run(*args: str) -> list[dict]:
    out = StringIO()
    call_command("ingest", *args, "--json", stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.django_db
def test_ingest_stores_a_real_google_report_and_prints_its_numbers() -> None:
    tenant = make_tenant("acme")
    make_domain(tenant, "krvtz.net")

    [line] = _run("--tenant", "acme", str(GOOGLE))

    assert line == {
        "path": str(GOOGLE),
        "outcome": "processed",
        "error_code": None,
        "reports": [
            {
                "organization": "Google Inc.",
                "report_id": "2024-09-15T00:00:00Z_krvtz.net",
                "start": "2024-09-15T00:00:00+00:00",
                "end": "2024-09-15T23:59:59+00:00",
                "policies": [
                    {"type": "sts", "domain": "krvtz.net", "successful": 1, "failed": 0,
                     "failure_details": 0}
                ],
            }
        ],
    }  # fmt: skip
    with scope(tenant=tenant):
        inbound = Report.objects.get().inbound
        assert inbound is not None and inbound.channel == "cli"


@pytest.mark.django_db
def test_ingest_twice_says_duplicate() -> None:
    tenant = make_tenant("acme")
    make_domain(tenant, "krvtz.net")
    _run("--tenant", "acme", str(GOOGLE))

    [line] = _run("--tenant", "acme", str(GOOGLE))

    assert line["outcome"] == "duplicate"


def test_dry_run_parses_the_whole_corpus_without_a_database() -> None:
    lines = _run("--dry-run", *(str(CORPUS / name) for name in corpus_files()))

    assert len(lines) == 36
    assert {line["outcome"] for line in lines} == {"parsed"}
    ms = next(
        line for line in lines if line["path"].endswith("microsoft-2025-05-sts-and-tlsa.json")
    )
    assert [(p["type"], p["successful"]) for p in ms["reports"][0]["policies"]] == [
        ("sts", 2), ("tlsa", 2)
    ]  # fmt: skip


def test_dry_run_reports_a_broken_file_with_its_code(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json.gz"
    broken.write_bytes(gzip.compress(b'{"organization-name": ')[:-4])
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("ingest", "--dry-run", "--json", str(broken), stdout=out)

    line = json.loads(out.getvalue())
    assert (line["outcome"], line["error_code"]) == ("failed", "gzip_invalid")


@pytest.mark.django_db
def test_ingest_reads_a_maildir_and_an_mbox(tmp_path: Path) -> None:
    tenant = make_tenant("acme")
    make_domain(tenant, "example.org")
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    for _ in range(2):
        maildir.add(report_email(report_json(domain="example.org")))
    box = mailbox.mbox(tmp_path / "reports.mbox")
    for _ in range(3):
        box.add(report_email(report_json(domain="example.org")))
    box.flush()

    lines = _run("--tenant", "acme", str(tmp_path / "Maildir"), str(tmp_path / "reports.mbox"))

    assert [line["outcome"] for line in lines] == ["processed"] * 5
    assert lines[-1]["path"].endswith("reports.mbox#3")
    with scope(tenant=tenant):
        assert Report.objects.count() == 5


@pytest.mark.django_db
def test_ingest_of_the_corpus_directory_skips_its_sources_file_and_succeeds() -> None:
    tenant = make_tenant("acme")
    out = StringIO()

    call_command("ingest", "--tenant", "acme", str(CORPUS), stdout=out)  # no CommandError

    expected = f"Skipped 1 file, not reports by name or content: {CORPUS / 'SOURCES.md'}"
    assert expected in out.getvalue()
    with scope(tenant=tenant):
        stored = sorted(InboundMessage.objects.values_list("filename", flat=True))
        assert not InboundMessage.objects.filter(status=Status.FAILED).exists()
    assert stored == corpus_files()


@pytest.mark.django_db
def test_ingest_of_a_directory_takes_reports_by_name_or_content(tmp_path: Path) -> None:
    tenant = make_tenant("acme")
    make_domain(tenant, "example.org")
    (tmp_path / "README.md").write_text("# Reports of last week\n\nSee below.\n")
    (tmp_path / "notes.txt").write_text("to do: publish MTA-STS\n")
    (tmp_path / "a.json").write_text(json.dumps(report_json(domain="example.org")))
    (tmp_path / "saved-message").write_bytes(
        report_email(report_json(domain="example.org", report_id="mail"))
    )
    out, err = StringIO(), StringIO()

    call_command("ingest", "--tenant", "acme", "--json", str(tmp_path), stdout=out, stderr=err)

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(Path(line["path"]).name, line["outcome"]) for line in lines] == [
        ("a.json", "processed"), ("saved-message", "processed")
    ]  # fmt: skip
    assert err.getvalue().startswith("Skipped 2 files, not reports by name or content: ")
    assert "README.md" in err.getvalue() and "notes.txt" in err.getvalue()


def test_a_file_named_on_the_command_line_is_never_skipped(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("to do: publish MTA-STS\n")
    out = StringIO()

    with pytest.raises(CommandError, match="1 input"):
        call_command("ingest", "--dry-run", str(notes), stdout=out)

    assert "notes.txt: failed" in out.getvalue() and "Skipped" not in out.getvalue()


@pytest.mark.django_db
def test_ingest_needs_an_existing_tenant() -> None:
    with pytest.raises(CommandError, match="No tenant"):
        call_command("ingest", "--tenant", "nobody", str(GOOGLE))


@pytest.mark.django_db
def test_reprocess_requeues_failed_messages_and_they_succeed_once_fixed(tmp_path: Path) -> None:
    tenant = make_tenant("acme")
    copy = tmp_path / "report.eml"
    shutil.copy(GOOGLE, copy)
    [line] = _run("--tenant", "acme", str(copy))
    assert line["outcome"] == "unattributed"
    make_domain(tenant, "krvtz.net")
    out = StringIO()

    call_command("reprocess", "--unattributed", "--tenant", "acme", stdout=out)

    assert "Queued 1 message" in out.getvalue()
    with scopes_disabled():
        message = InboundMessage.objects.get()
    assert message.status == Status.RECEIVED  # the worker picks it up from the queue


@pytest.mark.django_db
def test_createtenant_and_adddomain_set_up_a_tenant() -> None:
    out = StringIO()
    call_command("createtenant", "acme", "--owner", "ops@acme.example", stdout=out)
    call_command("adddomain", "acme", "Example.ORG.", "--verified", stdout=out)

    assert "@" in out.getvalue()
    assert "Added example.org for acme (verified by an operator)" in out.getvalue()
    with pytest.raises(CommandError, match="already exists"):
        call_command("createtenant", "acme", "--owner", "ops@acme.example")
    with pytest.raises(CommandError, match="IP address"):
        call_command("adddomain", "acme", "192.0.2.1")
