"""``manage.py ingest``: store and process report files through the task's own path.

Files found in a directory that are not reports by name or content (a README, notes)
are skipped and counted, not stored as failed messages.
"""

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Tenant
from reports.inbound.sources import SourceItem, iter_sources
from reports.inbound.store import inbound_store
from reports.ingest.messages import Outcome, envelope_extract, message_run
from reports.models import Channel, Status
from reports.tlsrpt import FoundReport, TlsRptError


class Command(BaseCommand):
    help = (
        "Ingest TLS-RPT reports from files or directories (.eml, .json, .json.gz, Maildir, mbox)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--tenant", help="Slug of the tenant the reports are for.")
        parser.add_argument("--json", action="store_true", help="One JSON line per path.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Only parse: no tenant, no database write."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = None
        if not options["dry_run"]:
            if not options["tenant"]:
                raise CommandError("--tenant SLUG is required (or use --dry-run).")
            try:
                tenant = Tenant.objects.get(slug=options["tenant"])
            except Tenant.DoesNotExist:
                raise CommandError(f"No tenant with slug {options['tenant']!r}.") from None
        failed, skipped = 0, []
        for item in iter_sources(options["paths"], max_bytes=settings.TLSRPT_MAX_MESSAGE_BYTES):
            if item.skipped:
                skipped.append(item.label)
                continue
            outcome = _parse_only(item) if tenant is None else _ingest(tenant, item)
            failed += outcome.status == Status.FAILED
            self._print(item, outcome, as_json=options["json"])
        if skipped:
            self._say_skipped(skipped, as_json=options["json"])
        if failed:
            raise CommandError(f"{failed} input(s) failed.", returncode=1)

    def _say_skipped(self, labels: list[str], *, as_json: bool) -> None:
        """How many files of the directories were not reports; stderr keeps --json's lines."""
        s = "" if len(labels) == 1 else "s"
        line = f"Skipped {len(labels)} file{s}, not reports by name or content: "
        (self.stderr if as_json else self.stdout).write(line + ", ".join(labels))

    def _print(self, item: SourceItem, outcome: Outcome, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(outcome_json(item.label, outcome)))
            return
        line = f"{item.label}: {outcome.status} ({len(outcome.reports)} report(s))"
        if outcome.error_code:
            line += f" {outcome.error_code}: {outcome.error_message}"
        style = self.style.ERROR if outcome.status == Status.FAILED else self.style.SUCCESS
        self.stdout.write(style(line))


def _too_large(item: SourceItem) -> Outcome:
    limit = settings.TLSRPT_MAX_MESSAGE_BYTES
    message = f"The input is {item.size} bytes; the limit is {limit}."
    return Outcome(Status.FAILED, "message_too_large", message)


def _parse_only(item: SourceItem) -> Outcome:
    if item.data is None:
        return _too_large(item)
    try:
        envelope = envelope_extract(item.data, filename=item.filename)
    except TlsRptError as e:
        return Outcome(Status.FAILED, e.code, e.message)
    return Outcome("parsed", reports=envelope.reports)


def _ingest(tenant: Tenant, item: SourceItem) -> Outcome:
    if item.data is None:
        return _too_large(item)
    message = inbound_store(
        tenant=tenant, channel=Channel.CLI, raw=item.data, filename=item.filename, queue=False
    )
    return message_run(message_id=message.pk)


def outcome_json(path: str, outcome: Outcome) -> dict[str, Any]:
    return {
        "path": path,
        "outcome": str(outcome.status),
        "error_code": outcome.error_code or None,
        "reports": [_report_json(found) for found in outcome.reports],
    }


def _report_json(found: FoundReport) -> dict[str, Any]:
    report = found.report
    return {
        "organization": report.organization_name,
        "report_id": report.report_id,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "policies": [
            {
                "type": p.policy_type,
                "domain": p.policy_domain,
                "successful": p.successful,
                "failed": p.failed,
                "failure_details": len(p.failure_details),
            }
            for p in report.policies
        ],
    }
