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
        assert Report.objects.get().inbound.channel == "cli"


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
