"""The weekly digest: what a tenant's domains did last week, emailed to each member.

``digest_build`` gathers the figures from the dashboard selectors (never queries of its
own, so the email and the dashboards cannot disagree); ``digest_send`` emails it to every
member who wants it, once per person and week: a ``DigestDelivery`` row is claimed before
sending. The week is Monday to Sunday in the tenant's time zone; like the dashboards, a
report counts for the (UTC) day it starts. Callers are inside the tenant's scope.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from accounts.audit import audit_record
from accounts.models import Membership, Tenant
from domains.models import CheckKind, Domain
from domains.selectors import latest_checks, problems
from reports.dashboards import reporters, selectors
from reports.dashboards.advice import advice
from reports.dashboards.periods import Period
from reports.dashboards.selectors import Totals
from reports.digests.models import DigestDelivery
from reports.readiness.verdicts import NOT_TESTING, Readiness, domain_readiness
from reports.webhooks import hooks as webhooks
from tlsrpt_saas.mail import email_build

logger = logging.getLogger(__name__)

SEND_HOUR = 7  # local time on the digest day, once the weekend's reports are mostly in
TOP_FAILURE_TYPES = 3
TOP_READINESS_EVIDENCE = 3
NEW_REPORTER_LOOKBACK_WEEKS = 4
BAR_WIDTH = 120  # pixels
UNSUBSCRIBE_SALT = "digest-unsubscribe"
DASH = "\u2013"  # en dash, for ranges and missing figures
STATUS_LABELS = {"failing": "✖ Failures", "ok": "✔ OK", "quiet": f"{DASH} No reports"}


def percent(value: float | None) -> str:
    """``83.33 %``, ``100 %``; a dash without sessions."""
    if value is None:
        return DASH
    return f"{value:.2f}".rstrip("0").rstrip(".") + " %"


def signed(value: float) -> str:
    """``+3``, ``-70``, ``±0``, ``+1.5``."""
    if not value:
        return "±0"
    if isinstance(value, float):
        return f"{value:+.2f}".rstrip("0").rstrip(".")
    return f"{value:+d}"


@dataclass(frozen=True)
class FailureType:
    result_type: str
    sessions: int
    title: str
    meaning: str
    fix: str


@dataclass(frozen=True)
class DnsProblem:
    check: str  # the kind's label, e.g. "MTA-STS"
    level: str  # warning or error
    message: str
    fix: str


@dataclass(frozen=True)
class Reporter:
    organization: str
    last_day: date


@dataclass
class DomainDigest:
    name: str
    totals: Totals
    previous: Totals
    failure_types: list[FailureType]
    new_reporters: list[str]
    silent_reporters: list[Reporter]
    dns_problems: list[DnsProblem]
    dashboard_url: str
    readiness: Readiness | None = None  # only for a policy in testing

    @property
    def readiness_evidence(self) -> list[str]:
        """The top lines of evidence, biggest first."""
        found = self.readiness.evidence if self.readiness else []
        return [e.text for e in found[:TOP_READINESS_EVIDENCE]]

    @property
    def sessions_change(self) -> int:
        return self.totals.sessions - self.previous.sessions

    @property
    def rate_change(self) -> float | None:
        """Success rate change in percentage points; None unless both weeks had sessions."""
        now, before = self.totals.success_rate, self.previous.success_rate
        return None if now is None or before is None else round(now - before, 2)

    @property
    def status(self) -> str:
        """failing, ok or quiet (no sessions reported)."""
        if self.totals.failed:
            return "failing"
        return "ok" if self.totals.sessions else "quiet"

    @property
    def status_label(self) -> str:
        """The status in words and a symbol, readable without colour."""
        return STATUS_LABELS[self.status]

    @property
    def rate(self) -> str:
        return percent(self.totals.success_rate)

    @property
    def sessions_delta(self) -> str:
        return signed(self.sessions_change)

    @property
    def rate_delta(self) -> str:
        """``+1.5 points``; empty when either week had no sessions."""
        change = self.rate_change
        return "" if change is None else f"{signed(change)} points"

    @property
    def bar(self) -> tuple[int, int]:
        """Widths in pixels of the bar's successful and failed cells (0, 0: no sessions)."""
        if not self.totals.sessions:
            return 0, 0
        good = round(BAR_WIDTH * self.totals.successful / self.totals.sessions)
        if self.totals.failed:
            good = min(good, BAR_WIDTH - 2)  # a failure never disappears in the rounding
        return good, BAR_WIDTH - good

    @property
    def noteworthy(self) -> bool:
        """Whether there is more to say than the figures of the overview table."""
        return bool(
            self.totals.failed
            or self.new_reporters
            or self.silent_reporters
            or self.dns_problems
            or self.readiness
        )


@dataclass
class Digest:
    tenant: Tenant
    period: Period
    domains: list[DomainDigest]
    overview_url: str

    @property
    def failing(self) -> int:
        return sum(1 for d in self.domains if d.totals.failed)

    @property
    def totals(self) -> Totals:
        return Totals(
            sum(d.totals.successful for d in self.domains),
            sum(d.totals.failed for d in self.domains),
        )

    @property
    def week_label(self) -> str:
        """``23-29 Nov``, or ``30 Nov - 6 Dec`` across months (with en dashes)."""
        start, end = self.period.start, self.period.end
        if start.month == end.month:
            return f"{start.day}{DASH}{end.day} {end:%b}"
        return f"{start.day} {start:%b} {DASH} {end.day} {end:%b}"

    @property
    def subject(self) -> str:
        name = " ".join(self.tenant.name.split())  # no line breaks into a header
        count = len(self.domains)
        domains = f"{count} domain{'s' if count != 1 else ''}"
        return (
            f"TLS-RPT weekly: {name} — {domains}, {self.failing} with failures ({self.week_label})"
        )


def week_of(day: date) -> Period:
    """The Monday-to-Sunday week ``day`` is in."""
    start = day - timedelta(days=day.weekday())
    return Period(start, start + timedelta(days=6))


def digest_due(tenant: Tenant, now: datetime | None = None) -> date | None:
    """The Monday of the week to send, when it is the tenant's digest time; else None.

    It is due from SEND_HOUR on the tenant's digest weekday, in its time zone, and covers
    the last whole week before that day.
    """
    try:
        zone = ZoneInfo(tenant.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")  # one bad row must not stop the beat job for every tenant
    local = (now or timezone.now()).astimezone(zone)
    if local.weekday() != tenant.digest_weekday or local.hour < SEND_HOUR:
        return None
    return week_of(local.date()).start - timedelta(days=7)


def digests_due(now: datetime) -> dict[int, date]:
    """Tenant id -> week start of every digest due now and not yet started.

    Tenants are not scoped rows; the deliveries are read in the scope of the tenants due.
    """
    tenants = Tenant.objects.filter(weekly_digest=True, domains__verified_at__isnull=False)
    due = {t.pk: week for t in tenants.distinct() if (week := digest_due(t, now)) is not None}
    if not due:
        return {}
    with scope(tenant=list(due)):
        started = set(
            DigestDelivery.objects.filter(tenant_id__in=due, week_start__in=set(due.values()))
            .values_list("tenant_id", "week_start")
            .distinct()
        )
    return {pk: week for pk, week in due.items() if (pk, week) not in started}


def digest_domains(tenant: Tenant) -> list[Domain]:
    """The domains a digest covers: the verified ones, whose reports count."""
    return list(Domain.objects.filter(tenant=tenant, verified_at__isnull=False).order_by("name"))


def digest_build(*, tenant: Tenant, week_start: date) -> Digest:
    """The digest of the week starting on ``week_start`` (a Monday)."""
    period = Period(week_start, week_start + timedelta(days=6))
    domains = digest_domains(tenant)
    checks = latest_checks(domains)
    rows = [
        DomainDigest(
            name=summary.domain.name,
            totals=summary.totals,
            previous=summary.previous,
            failure_types=_failure_types(summary.domain, period),
            new_reporters=_new_reporters(summary.domain, period),
            silent_reporters=_silent_reporters(summary.domain, period),
            dns_problems=_dns_problems(checks.get(summary.domain.pk, {})),
            dashboard_url=_url("domain_dashboard", tenant, period, summary.domain.pk),
            readiness=_readiness(summary.domain, period),
        )
        for summary in selectors.overview(domains, period)
    ]
    return Digest(tenant, period, rows, _url("tenant_home", tenant, period))


def _url(name: str, tenant: Tenant, period: Period, *args: object) -> str:
    path = reverse(name, args=[tenant.slug, *args])
    return f"{settings.SITE_URL}{path}?from={period.start}&to={period.end}"


def _failure_types(domain: Domain, period: Period) -> list[FailureType]:
    rows = selectors.failures_by(domain, period, "result_type")[:TOP_FAILURE_TYPES]
    found = []
    for result_type, sessions in rows:
        explained = advice(result_type, domain.name)
        found.append(
            FailureType(result_type, sessions, explained.title, explained.meaning, explained.fix)
        )
    return found


def _new_reporters(domain: Domain, period: Period) -> list[str]:
    """Organizations that reported this week but not in the weeks before."""
    lookback = Period(
        period.start - timedelta(weeks=NEW_REPORTER_LOOKBACK_WEEKS),
        period.start - timedelta(days=1),
    )
    before = {
        row.organization
        for row in reporters.organizations(domain, lookback)
        if row.last_day >= lookback.start
    }
    return [
        row.organization
        for row in reporters.organizations(domain, period)
        if row.last_day >= period.start and row.organization not in before
    ]


def _silent_reporters(domain: Domain, period: Period) -> list[Reporter]:
    rows = reporters.organizations(domain, period)
    return [Reporter(row.organization, row.last_day) for row in rows if row.silent]


def _readiness(domain: Domain, period: Period) -> Readiness | None:
    """Readiness to enforce over the window ending with the week; None unless in testing."""
    found = domain_readiness(domain, today=period.end + timedelta(days=1))
    return None if found.verdict == NOT_TESTING else found


def _dns_problems(checks: dict) -> list[DnsProblem]:
    return [
        DnsProblem(CheckKind(kind).label, str(found.level), found.message, found.fix)
        for kind, found in problems(checks)
    ]


# Sending ------------------------------------------------------------------------------


def unsubscribe_token(membership: Membership) -> str:
    return signing.dumps(membership.pk, salt=UNSUBSCRIBE_SALT)


def unsubscribe_membership(token: str) -> Membership | None:
    """The membership a digest's unsubscribe token names; None when forged or gone."""
    try:
        pk = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(pk, int):
        return None
    return Membership.objects.select_related("tenant", "user").filter(pk=pk).first()


def unsubscribe_url(membership: Membership) -> str:
    path = reverse("digest_unsubscribe", args=[unsubscribe_token(membership)])
    return f"{settings.SITE_URL}{path}"


def membership_digest_set(*, membership: Membership, on: bool) -> None:
    """Turn a person's weekly digest of one tenant on or off, with an audit event."""
    with transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(weekly_digest=on)
        membership.weekly_digest = on
        audit_record(
            tenant=membership.tenant,
            actor=membership.user,
            action="digest.subscribe" if on else "digest.unsubscribe",
            summary=f"{membership.user.email} turned the weekly digest {'on' if on else 'off'}",
        )


def digest_recipients(tenant: Tenant) -> list[tuple[Membership, str]]:
    """(membership, address) of every member who wants the digest and can receive it.

    The address is the person's primary email address, and only when verified.
    """
    verified = EmailAddress.objects.filter(user=OuterRef("user"), primary=True, verified=True)
    rows = (
        Membership.objects.filter(tenant=tenant, weekly_digest=True, user__is_active=True)
        .annotate(address=Subquery(verified.values("email")[:1]))
        .filter(address__isnull=False)
        .select_related("user", "tenant")
        .order_by("pk")
    )
    return [(m, m.address) for m in rows]


def digest_send(*, tenant: Tenant, week_start: date) -> int:
    """Email the week's digest to each member who wants it and has not had it; the count."""
    if not tenant.weekly_digest or not digest_domains(tenant):
        return 0
    recipients = digest_recipients(tenant)
    if not recipients:
        return 0
    digest = digest_build(tenant=tenant, week_start=week_start)
    sent = 0
    for membership, address in recipients:
        claim = _claim(tenant, membership, week_start)
        if claim is None:
            continue
        try:
            _message(digest, membership, address).send()
        except Exception:
            claim.delete()  # so that a retry sends it
            raise
        DigestDelivery.objects.filter(pk=claim.pk).update(sent_at=timezone.now())
        sent += 1
    logger.info("Weekly digest of %s for %s: %d sent", tenant.slug, week_start, sent)
    if sent and _first_sent(tenant, week_start, sent):
        _digest_event(digest)
    return sent


def _first_sent(tenant: Tenant, week_start: date, sent: int) -> bool:
    """Whether this call sent the week's first digests (a retry sending the rest is not)."""
    done = DigestDelivery.objects.filter(tenant=tenant, week_start=week_start)
    return done.filter(sent_at__isnull=False).count() == sent


def _digest_event(digest: Digest) -> None:
    rows = [
        {"name": d.name, "sessions": d.totals.sessions, "failed": d.totals.failed,
         "dashboard": d.dashboard_url}
        for d in digest.domains
    ]  # fmt: skip
    period = digest.period
    webhooks.digest_ready(digest.tenant, period.start, period.end, rows, digest.overview_url)


def _claim(tenant: Tenant, membership: Membership, week_start: date) -> DigestDelivery | None:
    """The delivery row, when this call inserted it; None when it was already there."""
    try:
        with transaction.atomic():
            return DigestDelivery.objects.create(
                tenant=tenant, user=membership.user, week_start=week_start
            )
    except IntegrityError:
        return None


def _message(digest: Digest, membership: Membership, address: str) -> EmailMultiAlternatives:
    url = unsubscribe_url(membership)
    return email_build(
        to=[address],
        subject=digest.subject,
        template="email/digest",
        context={"digest": digest, "tenant": digest.tenant, "unsubscribe_url": url},
        headers={
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
