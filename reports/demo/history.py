"""The demo domains' history besides reports: DNS checks, a hosted MTA-STS policy that was
promoted to enforce, and the alerts the story leaves open.

DNS can't be replayed, so checks are written as the health check stores them
(``check_store``: ``changed`` and ``previous_status`` computed the same way), dated back.
The caller is in the demo tenant's scope.
"""

from datetime import UTC, date, datetime, time, timedelta

from accounts.models import User
from domains import records as grammar
from domains.checks import CheckResult, check_store
from domains.findings import Finding, Level
from domains.hosting.models import ChangeSource, HostedPolicy, HostedPolicyVersion
from domains.hosting.policy import PolicyError
from domains.hosting.services import PolicySettings, hosted_policy_update
from domains.models import CheckKind, Domain
from domains.stspolicy import parse_sts_policy, sts_policy_findings
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
            day = today - timedelta(days=ago)
            for outcome in _outcomes(domain, day, ago):
                check_store(domain, outcome, _at(day, 6))
        Domain.objects.filter(pk=domain.pk).update(health_checked_at=_at(today, 6))


def _check_days(name: str, since: int) -> list[int]:
    days = set(range(since, 0, -7)) | {1}
    if name == "example.org":
        days |= set(range(MX2_BROKE_DAYS_AGO + 2, 0, -1))
    if name == "example.net":
        days |= set(range(STS_OUTAGE_DAYS_AGO + 1, STS_OUTAGE_DAYS_AGO - STS_OUTAGE_DAYS - 1, -1))
    return sorted(days, reverse=True)


def _outcomes(domain: Domain, day: date, ago: int) -> list[CheckResult]:
    """What each check would have seen that day, judged by the checks' own grammar."""
    name, mx = domain.name, mx_of(domain.name)
    record = f"v=TLSRPTv1; rua=mailto:{domain.tenant.inbound_address}"
    tlsrpt = grammar.tlsrpt_findings(
        [record], domain=name, our_uris=[f"mailto:{domain.tenant.inbound_address}"]
    )
    listed = ", ".join(f"{host} ({10 * (n + 1)})" for n, host in enumerate(mx))
    probed = datetime.combine(day, time(6), tzinfo=UTC)
    hosts = {host: _probe(name, host, ago, probed) for host in mx}
    return [
        CheckResult(CheckKind.TLSRPT, tlsrpt, {f"_smtp._tls.{name}": [record]}),
        CheckResult(
            CheckKind.MX, [Finding(Level.OK, "mx_ok", f"Mail for {name} goes to {listed}.")],
            {name: [f"{10 * (n + 1)} {h}." for n, h in enumerate(mx)], "dnssec_validated": False},
        ),
        _mta_sts(name, ago),
        CheckResult(
            CheckKind.MX_TLS, [f for h in mx for f in _probe_findings(h, hosts[h])],
            {"hosts": hosts},
        ),
    ]  # fmt: skip


def _mta_sts(name: str, ago: int) -> CheckResult:
    url = f"https://mta-sts.{name}/.well-known/mta-sts.txt"
    record = ["v=STSv1; id=20260101T000000"]
    _, findings = grammar.sts_record_findings(record, domain=name)
    records: dict[str, object] = {f"_mta-sts.{name}": record, "policy_url": url}
    outage = STS_OUTAGE_DAYS_AGO - STS_OUTAGE_DAYS < ago <= STS_OUTAGE_DAYS_AGO
    if name == "example.net" and outage:
        findings.append(Finding(
            Level.ERROR, "sts_fetch_tls_invalid",
            f"{url} could not be fetched: the certificate of mta-sts.{name} has expired.",
            f"Serve mta-sts.{name} with a valid certificate for mta-sts.{name}.",
        ))  # fmt: skip
        return CheckResult(CheckKind.MTA_STS, findings, records)
    body = "\n".join(
        ["version: STSv1", "mode: enforce", *[f"mx: {h}" for h in mx_of(name)], "max_age: 604800"]
    )
    records |= {"policy_status": 200, "policy": body}
    findings += sts_policy_findings(parse_sts_policy(body), domain=name, mx_hosts=mx_of(name))
    return CheckResult(CheckKind.MTA_STS, findings, records)


def _probe(name: str, host: str, ago: int, probed: datetime) -> dict[str, object]:
    """The facts a probe of ``host`` records (``ProbeResult.facts``)."""
    broken = name == "example.org" and host.startswith("mx2.") and ago <= MX2_BROKE_DAYS_AGO
    if broken and ago > MX2_BROKE_DAYS_AGO - STARTTLS_OFF_DAYS:
        return {"starttls": False, "tls_version": "", "cipher": "", "certificate": None,
                "chain": [], "trusted": None, "old_tls": "", "error_code": "starttls_missing",
                "probed_at": probed.isoformat()}  # fmt: skip
    issued = probed.date() - timedelta(days=30 + ago % 60)
    if broken:  # the old certificate, put back when STARTTLS was
        issued = probed.date() - timedelta(days=MX2_BROKE_DAYS_AGO + 90)
    certificate = {
        "subject": f"CN={host}", "sans": [host], "issuer": "CN=R11, O=Let's Encrypt, C=US",
        "not_before": f"{issued.isoformat()}T00:00:00+00:00",
        "not_after": f"{(issued + timedelta(days=90)).isoformat()}T00:00:00+00:00",
        "key_type": "EC", "key_bits": 256, "sha256": "", "spki_sha256": "",
    }  # fmt: skip
    return {"starttls": True, "tls_version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384",
            "certificate": certificate, "chain": [certificate], "trusted": True,
            "old_tls": "", "error_code": "", "probed_at": probed.isoformat()}  # fmt: skip


def _probe_findings(host: str, facts: dict) -> list[Finding]:
    if not facts["starttls"]:
        return [Finding(
            Level.ERROR, "starttls_missing",
            f"{host} does not offer STARTTLS: mail to it travels unencrypted, and MTA-STS "
            "senders refuse to deliver.",
            f"Enable STARTTLS on {host}'s SMTP server with a certificate for {host}.",
        )]  # fmt: skip
    not_after = facts["certificate"]["not_after"][:10]
    if not_after < facts["probed_at"][:10]:
        return [Finding(Level.ERROR, "certificate_expired",
                        f"{host}'s certificate expired on {not_after}.", _RENEW)]  # fmt: skip
    return [Finding(
        Level.OK, "mx_tls_ok",
        f"{host} offers STARTTLS (TLSv1.3) with a valid, trusted certificate until {not_after}.",
    )]  # fmt: skip


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
