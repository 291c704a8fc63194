"""Shared steps of the report tests: store bytes the way a door does, then process them."""

from pathlib import Path

from django.db.models import Sum
from django_scopes import scope

from accounts.models import Tenant
from reports.inbound.store import inbound_store
from reports.ingest.messages import Outcome, message_run
from reports.models import Channel, DailyStat, InboundMessage
from tests.conftest import CORPUS


def ingest(tenant: Tenant, raw: bytes, filename: str = "") -> tuple[InboundMessage, Outcome]:
    message = inbound_store(
        tenant=tenant, channel=Channel.UPLOAD, raw=raw, filename=filename, queue=False
    )
    outcome = message_run(message_id=message.pk)
    with scope(tenant=tenant):
        message.refresh_from_db()
    return message, outcome


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def corpus_files() -> list[str]:
    return sorted(p.name for p in Path(CORPUS).iterdir() if p.name != "SOURCES.md")


def domain_totals(tenant: Tenant) -> tuple[int, int]:
    with scope(tenant=tenant):
        sums = DailyStat.objects.aggregate(s=Sum("counted_successful"), f=Sum("counted_failed"))
    return sums["s"] or 0, sums["f"] or 0
