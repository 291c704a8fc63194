"""Alerts: conditions on a domain someone should act on, opened and resolved by evaluation.

``alerts_evaluate`` runs hourly for each tenant. For each verified domain it lists the
conditions that hold now (from the daily rollups, through ``reports.dashboards.selectors``, and from
the domain's latest definitive DNS checks), opens an ``Alert`` for each new one, keeps
open ones that still hold, and resolves the rest. A new alert is emailed to the tenant's
admins once, unless the same alert was emailed within the cooldown (a flapping one).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import Tenant
from domains.findings import Finding as DnsFinding
from domains.models import CheckKind, DnsCheck, Domain
from domains.selectors import latest_checks, problems
from reports.dashboards import advice, selectors
from reports.dashboards.periods import Period
from reports.dashboards.selectors import Totals
from reports.models import Alert, AlertKind, DailyStat
from reports.webhooks.hooks import alert_event
from tlsrpt_saas.queueing import task_queue_on_commit

# Queued by name (tlsrpt_saas.queueing): reports.alerts.tasks imports this module.
SEND_ALERT_EMAIL = "reports.alert_tasks.send_alert_email"

WINDOW_DAYS = 3  # the recent days judged (reports for a day arrive the day after)
BASELINE_DAYS = 28  # "usual", before the window
SILENT_DAYS = 3


@dataclass(frozen=True)
class Condition:
    kind: AlertKind
    key: str
    title: str
    message: str
    fix: str = ""


@dataclass
class Evaluation:
    opened: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)


def _percent(totals: Totals) -> float:
    return 100 * totals.failed / totals.sessions if totals.sessions else 0.0


def _top_fix(domain: Domain, window: Period) -> tuple[str, str]:
    by_type = selectors.failures_by(domain, window, "result_type")
    if not by_type:
        return "", ""
    explained = advice.advice(by_type[0][0], domain.name)
    return f" Most failures were {by_type[0][0]} ({explained.meaning})", explained.fix


def failure_conditions(domain: Domain, today: date) -> list[Condition]:
    window = Period(today - timedelta(days=WINDOW_DAYS - 1), today)
    baseline = Period(window.start - timedelta(days=BASELINE_DAYS), window.start - timedelta(1))
    now, usual = selectors.domain_totals(domain, window), selectors.domain_totals(domain, baseline)
    rate, usual_rate = _percent(now), _percent(usual)
    conditions = []
    if now.failed:
        why, fix = _top_fix(domain, window)
        span = f"{window.start:%d %b} to {window.end:%d %b}"
        if rate > domain.failure_rate_threshold:
            conditions.append(Condition(
                AlertKind.FAILURE_RATE, "",
                f"{domain.name}: {rate:.1f} % of TLS sessions failed",
                f"{now.failed} of {now.sessions} sessions to {domain.name} failed ({span}), "
                f"over the alert threshold of {domain.failure_rate_threshold:g} %.{why}", fix,
            ))  # fmt: skip
        elif usual_rate and rate >= 3 * usual_rate:
            conditions.append(Condition(
                AlertKind.FAILURE_SPIKE, "",
                f"{domain.name}: failures at {rate:.1f} %, {rate / usual_rate:.1f} times the usual",
                f"{now.failed} of {now.sessions} sessions failed ({span}) against "
                f"{usual_rate:.2f} % in the {BASELINE_DAYS} days before.{why}", fix,
            ))  # fmt: skip
    if usual.sessions:
        conditions += _new_failure_types(domain, window, baseline)
    return conditions


def _new_failure_types(domain: Domain, window: Period, baseline: Period) -> list[Condition]:
    seen = {t for t, _ in selectors.failures_by(domain, baseline, "result_type")}
    conditions = []
    for result_type, count in selectors.failures_by(domain, window, "result_type"):
        if result_type in seen:
            continue
        explained = advice.advice(result_type, domain.name)
        conditions.append(Condition(
            AlertKind.NEW_FAILURE_TYPE, result_type[:255],
            f"{domain.name}: new failure type {result_type}",
            f"{count} sessions failed with {result_type}, not seen in the {BASELINE_DAYS} "
            f"days before: {explained.meaning}", explained.fix,
        ))  # fmt: skip
    return conditions


def silent_reporters(domain: Domain, today: date) -> list[Condition]:
    """Reporters that sent (nearly) every day for a week, then nothing for SILENT_DAYS."""
    recent = Period(today - timedelta(days=SILENT_DAYS), today)
    before = Period(recent.start - timedelta(days=7), recent.start - timedelta(days=1))
    days_reported = dict(
        DailyStat.objects.filter(before.q(), domain=domain)
        .values("organization")
        .annotate(n=Count("day", distinct=True))
        .values_list("organization", "n")
    )
    daily = {org for org, n in days_reported.items() if n >= 6}
    still = set(
        DailyStat.objects.filter(recent.q(), domain=domain, organization__in=daily).values_list(
            "organization", flat=True
        )
    )
    return [_silent(domain, org, before.end) for org in sorted(daily - still)]


def _silent(domain: Domain, org: str, last_expected: date) -> Condition:
    return Condition(
        AlertKind.REPORTER_SILENT, org[:255],
        f"{domain.name}: {org} stopped sending reports",
        f"{org} reported on {domain.name} every day, but not since {last_expected:%d %b}. "
        "Its reports may be going elsewhere or being rejected.",
        f"Check that the TLS-RPT record at _smtp._tls.{domain.name} is unchanged and "
        "look for failed messages in the ingest log.",
    )  # fmt: skip


def dns_conditions(domain: Domain, checks: dict[str, DnsCheck], today: date) -> list[Condition]:
    conditions = []
    tlsrpt = checks.get(CheckKind.TLSRPT)
    if tlsrpt and tlsrpt.status != "ok":
        problem = problems({CheckKind.TLSRPT: tlsrpt})[0][1]
        conditions.append(Condition(
            AlertKind.TLSRPT_RECORD, "", f"{domain.name}: TLS-RPT reports will not reach you",
            problem.message, problem.fix,
        ))  # fmt: skip
    sts = checks.get(CheckKind.MTA_STS)
    if sts:
        codes = {f["code"]: DnsFinding.from_dict(f) for f in sts.findings}
        fetch = next((f for c, f in codes.items() if c.startswith("sts_fetch_")), None)
        if fetch:
            conditions.append(Condition(
                AlertKind.STS_UNREACHABLE, "",
                f"{domain.name}: the MTA-STS policy cannot be fetched",
                f"{fetch.message} Senders that enforce MTA-STS report sts-policy-fetch-error "
                "and fall back to their cached policy, then to none.", fetch.fix,
            ))  # fmt: skip
        since = _testing_since(domain)
        days = settings.ALERT_STS_TESTING_DAYS
        if "sts_policy_testing" in codes and since and (today - since).days >= days:
            conditions.append(Condition(
                AlertKind.STS_TESTING, "", f"{domain.name}: MTA-STS in testing mode since "
                f"{since:%d %b %Y}",
                f"The MTA-STS policy has been in mode testing for {(today - since).days} days: "
                "senders report failures but still deliver without TLS.",
                codes["sts_policy_testing"].fix,
            ))  # fmt: skip
    mx_tls = checks.get(CheckKind.MX_TLS)
    if mx_tls:
        conditions += mx_tls_conditions(domain, mx_tls)
    return conditions


# The live probe's findings that are worth a person's attention (warnings of these too:
# a certificate expiring in three weeks is the alert's whole point).
MX_CERTIFICATE_CODES = (
    "certificate_expired", "certificate_expires_soon", "certificate_not_yet_valid",
    "certificate_name_mismatch", "certificate_untrusted", "tls_handshake_failed",
    "starttls_missing",
)  # fmt: skip


def mx_tls_conditions(domain: Domain, check: DnsCheck) -> list[Condition]:
    """An expiring or broken MX certificate, and TLSA records that no longer match."""
    found = [DnsFinding.from_dict(f) for f in check.findings]
    found = [f for f in found if f.level in ("warning", "error")]
    conditions = []
    certificate = [f for f in found if f.code in MX_CERTIFICATE_CODES]
    if certificate:
        conditions.append(Condition(
            AlertKind.MX_CERTIFICATE, "",
            f"{domain.name}: an MX host's TLS certificate needs attention",
            " ".join(f.message for f in certificate),
            "\n".join(dict.fromkeys(f.fix for f in certificate if f.fix)),
        ))  # fmt: skip
    tlsa = [f for f in found if f.code == "tlsa_mismatch"]
    if tlsa:
        conditions.append(Condition(
            AlertKind.MX_TLSA_MISMATCH, "",
            f"{domain.name}: TLSA records no longer match the MX certificate",
            " ".join(f.message for f in tlsa), "\n".join(f.fix for f in tlsa if f.fix),
        ))  # fmt: skip
    return conditions


def _testing_since(domain: Domain) -> date | None:
    """The day of the first check of the current unbroken run in MTA-STS mode testing."""
    since = None
    checks = (
        DnsCheck.objects.filter(domain=domain, kind=CheckKind.MTA_STS)
        .exclude(status="unknown")
        .order_by("-checked_at")
        .values_list("checked_at", "findings")[:400]
    )
    for checked_at, found in checks:
        if not any(f["code"] == "sts_policy_testing" for f in found):
            break
        since = checked_at.date()
    return since


def domain_conditions(domain: Domain, checks: dict[str, DnsCheck], today: date) -> list[Condition]:
    return [
        *failure_conditions(domain, today),
        *silent_reporters(domain, today),
        *dns_conditions(domain, checks, today),
    ]


def alert_tenants() -> list[int]:
    """The tenants whose alerts the hourly evaluation looks at: those with a verified domain.

    Tenants are not scoped rows; this reads no tenant's data.
    """
    return list(
        Tenant.objects.filter(domains__verified_at__isnull=False)
        .distinct()
        .values_list("pk", flat=True)
    )


def alerts_evaluate(*, tenant: Tenant, today: date | None = None) -> Evaluation:
    """Open, keep and resolve the tenant's alerts; the caller is in its scope."""
    today = today or timezone.now().date()
    domains = list(Domain.objects.filter(tenant=tenant, verified_at__isnull=False))
    checks = latest_checks(domains)
    result = Evaluation()
    for domain in domains:
        conditions = {
            (c.kind, c.key): c for c in domain_conditions(domain, checks[domain.pk], today)
        }
        _apply(domain, conditions, result)
    return result


def _apply(domain: Domain, conditions: dict, result: Evaluation) -> None:
    now = timezone.now()
    open_alerts = {
        (a.kind, a.key): a for a in Alert.objects.filter(domain=domain, resolved_at=None)
    }
    for key, gone in open_alerts.items():
        if key not in conditions:
            gone.resolved_at = now
            gone.save(update_fields=["resolved_at"])
            alert_event(gone, "alert.resolved")  # in the evaluation's transaction
            result.resolved.append(gone)
    for key, condition in conditions.items():
        alert = open_alerts.get(key)
        if alert:
            alert.last_seen_at, alert.message, alert.fix = now, condition.message, condition.fix
            alert.save(update_fields=["last_seen_at", "message", "fix"])
        elif (opened := _open(domain, condition, now)) is not None:
            result.opened.append(opened)


def _open(domain: Domain, condition: Condition, now: datetime) -> Alert | None:
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                tenant_id=domain.tenant_id, domain=domain, kind=condition.kind,
                key=condition.key, title=condition.title[:255], message=condition.message,
                fix=condition.fix, opened_at=now, last_seen_at=now,
            )  # fmt: skip
            alert_event(alert, "alert.opened")
    except IntegrityError:  # another evaluation opened it at the same moment
        return None
    if not _recently_notified(alert):
        task_queue_on_commit(SEND_ALERT_EMAIL, alert.pk)
    return alert


def _recently_notified(alert: Alert) -> bool:
    cooldown = timezone.now() - timedelta(hours=settings.ALERT_EMAIL_COOLDOWN_HOURS)
    return (
        Alert.objects.filter(domain=alert.domain, kind=alert.kind, key=alert.key)
        .exclude(pk=alert.pk)
        .filter(notified_at__gte=cooldown)
        .exists()
    )
