"""The demo domains' history besides reports: DNS checks, a hosted MTA-STS policy that was
promoted to enforce, and the alerts the story leaves open.

DNS can't be replayed, so checks are written as the health check stores them
(``check_store``: ``changed`` and ``previous_status`` computed the same way), dated back.
The caller is in the demo tenant's scope.
"""

from datetime import UTC, date, datetime, time, timedelta

from accounts.models import User
from domains.checks import CheckResult, check_store
from domains.findings import Finding, Level
from domains.hosting.models import ChangeSource, HostedPolicy, HostedPolicyVersion
from domains.hosting.policy import PolicyError
from domains.hosting.services import PolicySettings, hosted_policy_update
from domains.models import CheckKind, Domain
from reports.alerts.rules import failure_conditions, silent_reporters
from reports.demo.scenario import (
    DAYS,
    MX2_BROKE_DAYS_AGO,
    STARTTLS_OFF_DAYS,
    STS_OUTAGE_DAYS,
    STS_OUTAGE_DAYS_AGO,
    mx_of,
)
from reports.models import Alert

_RENEW = "Renew the certificate (and make sure the renewal is installed on the MX host)."


def checks_build(domains: dict[str, Domain], today: date, days: int = DAYS) -> None:
    """Weekly health checks of every verified domain, and daily ones around the incidents."""
    for domain in domains.values():
        if not domain.is_verified:
            continue
        since = min(days, (today - domain.created_at.date()).days)
        for ago in _check_days(domain.name, since):
            now = datetime.combine(today - timedelta(days=ago), time(6), tzinfo=UTC)
            for outcome in _outcomes(domain.name, ago):
                check_store(domain, outcome, now)
        Domain.objects.filter(pk=domain.pk).update(health_checked_at=_at(today, 6))


def _check_days(name: str, since: int) -> list[int]:
    days = set(range(since, 0, -7)) | {1}
    if name == "example.org":
        days |= set(range(MX2_BROKE_DAYS_AGO + 2, 0, -1))
    if name == "example.net":
        days |= set(range(STS_OUTAGE_DAYS_AGO + 1, STS_OUTAGE_DAYS_AGO - STS_OUTAGE_DAYS - 1, -1))
    return sorted(days, reverse=True)


def _outcomes(name: str, ago: int) -> list[CheckResult]:
    mx = mx_of(name)
    return [
        CheckResult(CheckKind.TLSRPT, [Finding(
            Level.OK, "tlsrpt_ok", f"_smtp._tls.{name} sends reports to this service.")]),
        CheckResult(CheckKind.MX, [Finding(
            Level.OK, "mx_ok", f"{name} has 2 MX hosts: {', '.join(mx)}.")]),
        _mta_sts(name, ago),
        CheckResult(CheckKind.MX_TLS, [_mx_tls(name, host, ago) for host in mx]),
    ]  # fmt: skip


def _mta_sts(name: str, ago: int) -> CheckResult:
    url = f"https://mta-sts.{name}/.well-known/mta-sts.txt"
    outage = STS_OUTAGE_DAYS_AGO - STS_OUTAGE_DAYS < ago <= STS_OUTAGE_DAYS_AGO
    if name == "example.net" and outage:
        finding = Finding(
            Level.ERROR, "sts_fetch_tls_invalid",
            f"{url} could not be fetched: the certificate of mta-sts.{name} has expired.",
            f"Renew the certificate of mta-sts.{name}; senders keep their cached policy "
            "until it expires, then send without one.",
        )  # fmt: skip
    else:
        finding = Finding(
            Level.OK, "sts_policy_ok",
            f"{url} serves mode enforce for {', '.join(mx_of(name))}, max_age 604800.",
        )  # fmt: skip
    record = Finding(Level.OK, "sts_record_ok", f"_mta-sts.{name} names policy id 20260101T000000.")
    return CheckResult(CheckKind.MTA_STS, [record, finding], {url: "version: STSv1"})


def _mx_tls(name: str, host: str, ago: int) -> Finding:
    if name == "example.org" and host.startswith("mx2.") and ago <= MX2_BROKE_DAYS_AGO:
        if ago > MX2_BROKE_DAYS_AGO - STARTTLS_OFF_DAYS:
            return Finding(
                Level.ERROR, "starttls_missing",
                f"{host} does not offer STARTTLS: mail to it travels unencrypted, "
                "and MTA-STS senders refuse to deliver.",
                f"Enable STARTTLS on {host}'s SMTP server with a certificate for {host}.",
            )  # fmt: skip
        return Finding(Level.ERROR, "certificate_expired",
                       f"{host}'s certificate expired on 2026-01-01.", _RENEW)  # fmt: skip
    return Finding(
        Level.OK, "mx_tls_ok",
        f"{host} offers STARTTLS (TLSv1.3) with a valid, trusted certificate.",
    )  # fmt: skip


def hosted_policy_build(domain: Domain, owner: User, today: date) -> None:
    """Hosting set up in testing mode, promoted to enforce a month later (if this server
    hosts policies)."""
    steps = [(120, "testing"), (90, "enforce")]
    for ago, mode in steps:
        wanted = PolicySettings(enabled=True, mode=mode, mx=mx_of(domain.name), max_age=604800)
        try:
            hosted_policy_update(
                domain=domain, wanted=wanted, actor=owner, source=ChangeSource.MANUAL
            )
        except PolicyError:
            return
        version = HostedPolicyVersion.objects.filter(hosted_policy__domain=domain).latest("pk")
        when = _at(today - timedelta(days=ago), 10)
        HostedPolicyVersion.objects.filter(pk=version.pk).update(changed_at=when)
        HostedPolicy.objects.filter(domain=domain).update(updated_at=when)


def alerts_build(domains: list[Domain], today: date) -> None:
    """The alerts the hourly evaluation would have open today, opened when the trouble
    started and already emailed; and the MTA-STS outage's alert, resolved."""
    for domain in domains:
        if not domain.is_verified:
            continue
        conditions = failure_conditions(domain, today) + silent_reporters(domain, today)
        for c in conditions:
            opened = _at(today - timedelta(days=MX2_BROKE_DAYS_AGO - 1), 7)
            Alert.objects.create(
                tenant_id=domain.tenant_id, domain=domain, kind=c.kind, key=c.key,
                title=c.title[:255], message=c.message, fix=c.fix, opened_at=opened,
                last_seen_at=_at(today, 7), notified_at=opened,
            )  # fmt: skip
        if domain.name == "example.net":
            opened = _at(today - timedelta(days=STS_OUTAGE_DAYS_AGO - 1), 7)
            Alert.objects.create(
                tenant_id=domain.tenant_id, domain=domain, kind="sts_unreachable",
                title=f"{domain.name}: MTA-STS policy unreachable",
                message=f"https://mta-sts.{domain.name}/.well-known/mta-sts.txt could not be "
                "fetched: its certificate had expired.",
                fix=f"Renew the certificate of mta-sts.{domain.name}.", opened_at=opened,
                last_seen_at=opened + timedelta(days=STS_OUTAGE_DAYS - 1),
                resolved_at=opened + timedelta(days=STS_OUTAGE_DAYS - 1), notified_at=opened,
            )  # fmt: skip


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)
