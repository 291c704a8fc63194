"""Build (or rebuild) the demo tenant: what a customer's account looks like after months.

Everything goes through the product's own paths: messages are stored as a door stores
them (``inbound_store``) and processed as the workers process them (``claims_run``), so
reports, failure details, rollups and the ingest log are exactly what real mail makes.
The real reports of ``tests/data/corpus`` are uploaded too: those naming a demo domain
count for it, the others stay unattributed in the ingest log ("add this domain").

The history is generated with a fixed seed and dated back from ``today``, so two runs on
the same day build the same tenant.
"""

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_scopes import scope

from accounts.models import Membership, Role, Tenant, User
from accounts.tenancy import across_tenants
from domains.models import Domain, VerifiedBy
from reports.demo import history
from reports.demo.reporters import REPORTERS, report_bytes, report_document
from reports.demo.scenario import DAYS, DOMAINS, DemoDomain, mx_of, report_days, reports_today
from reports.demo.scenario import sessions_for as day_sessions
from reports.inbound.store import inbound_store
from reports.ingest.claims import Claim
from reports.ingest.messages import claims_run
from reports.models import Channel, InboundMessage

SLUG = "demo"
NAME = "Demo"
OWNER_EMAIL = "demo@example.com"
SEED = 8460  # the RFC's number: any fixed seed makes the same history
CORPUS = Path(settings.BASE_DIR) / "tests" / "data" / "corpus"
BATCH = 200


class NotTheDemo(Exception):
    """A tenant has the demo's slug but another owner: it is someone's, never deleted."""


@dataclass
class Built:
    tenant: Tenant
    owner: User
    messages: int


def demo_build(
    *, password: str, days: int = DAYS, today: date | None = None, corpus: Path = CORPUS
) -> Built:
    """Delete the demo tenant if it exists and build it again with ``days`` of daily
    reports before ``today``; its owner logs in with ``OWNER_EMAIL`` and ``password``."""
    today = today or timezone.now().date()
    rng = random.Random(SEED)  # noqa: S311 -- made-up history, not secrets
    with across_tenants("demo: finds the demo tenant by its slug to rebuild it"):
        for old in Tenant.objects.filter(slug=SLUG):
            if not Membership.objects.filter(
                tenant=old, role=Role.OWNER, user__email=OWNER_EMAIL
            ).exists():
                raise NotTheDemo(f"A tenant {SLUG!r} exists that the demo did not make.")
            old.delete()
    owner = _owner(password)
    with transaction.atomic():
        tenant = Tenant.objects.create(slug=SLUG, name=NAME)
        Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    with scope(tenant=tenant):
        domains = {d.name: _domain(tenant, d, today) for d in DOMAINS}
        stored = _store_all(tenant, _corpus_messages(corpus, today))
        stored += _store_all(tenant, _generated_messages(today, days, rng))
        history.checks_build(domains, today, days)
        history.hosted_policy_build(domains["example.com"], owner, today)
        history.alerts_build(list(domains.values()), today)
    return Built(tenant, owner, stored)


def _owner(password: str) -> User:
    owner = User.objects.filter(email=OWNER_EMAIL).first()
    if owner is None:
        owner = User.objects.create_user(OWNER_EMAIL, password, name="Dana Demo")
    else:
        owner.set_password(password)
        owner.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(
        user=owner, email=OWNER_EMAIL, defaults={"verified": True, "primary": True}
    )
    return owner


def _domain(tenant: Tenant, demo: DemoDomain, today: date) -> Domain:
    added = _at(today - timedelta(days=demo.added_days_ago), 9)
    verified = demo.verified
    return Domain.objects.create(
        tenant=tenant,
        name=demo.name,
        created_at=added,
        verified_at=added + timedelta(minutes=12) if verified else None,
        verified_by=VerifiedBy.DNS if verified else "",
        checked_at=_at(today, 6) if verified else added,
        check_ok=verified,
        check_message="" if verified else f"No TXT record at _tlsrpt-verify.{demo.name} yet.",
        tlsrpt_ok=True if verified else None,
        mx_hosts=mx_of(demo.name) if verified else [],
    )


@dataclass
class Arrival:
    raw: bytes
    channel: str
    received_at: datetime
    filename: str = ""


def _corpus_messages(corpus: Path, today: date) -> Iterator[Arrival]:
    """The real reports, uploaded three days ago as a colleague's archive."""
    if not corpus.is_dir():  # an installation without the tests (a Docker image)
        return
    uploaded = _at(today - timedelta(days=3), 15)
    for n, path in enumerate(sorted(p for p in corpus.iterdir() if p.name != "SOURCES.md")):
        at = uploaded + timedelta(seconds=n)
        yield Arrival(path.read_bytes(), Channel.UPLOAD, at, path.name)


def _generated_messages(today: date, days: int, rng: random.Random) -> Iterator[Arrival]:
    sending = [d for d in DOMAINS if d.daily_sessions]
    last: tuple[Arrival, dict] | None = None
    for day in report_days(today, days):
        for reporter in REPORTERS:
            if not reports_today(reporter, day, today, rng):
                continue
            for demo in sending:
                sessions = day_sessions(demo, reporter, day, today, rng)
                document = report_document(
                    reporter, domain=demo.name, day=day, mx=mx_of(demo.name),
                    sessions=sessions, rng=rng,
                )  # fmt: skip
                raw = report_bytes(reporter, document, day=day, rng=rng)
                channel = Channel.SMTP if reporter.by_email else Channel.HTTPS
                arrived = _at(day + timedelta(days=1), 1) + timedelta(minutes=rng.randrange(420))
                last = Arrival(raw, channel, arrived), document
                yield last[0]
    if last is not None:
        yield from _oddities(*last)


def _oddities(last: Arrival, document: dict) -> Iterator[Arrival]:
    """What every ingest log shows sooner or later: a resent report (a duplicate), the same
    report id with other numbers (a conflicting duplicate) and a report missing a field."""
    later = last.received_at + timedelta(minutes=20)
    yield Arrival(last.raw, last.channel, later)
    changed = json.loads(json.dumps(document))
    changed["policies"][0]["summary"]["total-successful-session-count"] += 7
    yield Arrival(gzip.compress(json.dumps(changed).encode(), mtime=0), Channel.HTTPS, later)
    broken = {k: v for k, v in document.items() if k != "policies"}
    broken["report-id"] = f"{document['report-id']}-partial"
    yield Arrival(json.dumps(broken).encode(), Channel.HTTPS, later + timedelta(minutes=5))


def _store_all(tenant: Tenant, arrivals: Iterator[Arrival]) -> int:
    """Store and process the arrivals in batches, as a drain would; answers how many."""
    count = 0
    batch: list[Arrival] = []
    for arrival in arrivals:
        batch.append(arrival)
        if len(batch) == BATCH:
            count += _process(tenant, batch)
            batch = []
    return count + _process(tenant, batch)


def _process(tenant: Tenant, arrivals: list[Arrival]) -> int:
    if not arrivals:
        return 0
    now = timezone.now()
    with transaction.atomic():  # one commit for the batch, not one per message
        messages = [
            inbound_store(
                tenant=tenant,
                channel=a.channel,
                raw=a.raw,
                filename=a.filename,
                queue=False,
                # When it arrived (never later than now), not when the demo was built.
                received_at=min(a.received_at, now),
            )
            for a in arrivals
        ]
    claims_run([Claim(m.pk, m.tenant_id, 0, m.raw, m.filename) for m in messages])
    InboundMessage.objects.filter(pk__in=[m.pk for m in messages]).update(
        processed_at=F("received_at") + timedelta(seconds=2)
    )
    return len(arrivals)


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)
