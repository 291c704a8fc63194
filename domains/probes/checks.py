"""The ``mx_tls`` health check: the live probe of each of a domain's MX hosts, judged.

It runs after the DNS checks (``domains.health.domain_health_refresh``) and reads what
they just saw: the MX hosts (at most ``DNS_MAX_MX_HOSTS``), the MTA-STS policy's ``mx``
patterns, and the TLSA records of each host. ``records["hosts"]`` holds each host's probe
facts (``ProbeResult.facts``), a contract the dashboard's explanations read; ``findings``
name their host. A domain without MX hosts gets no ``mx_tls`` check.
"""

import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from domains.checks import CheckResult, check_store
from domains.events import domain_event_send
from domains.models import CheckKind, DnsCheck, Domain
from domains.probes.findings import probe_findings
from domains.probes.sharing import probe_shared
from domains.probes.smtp_tls import ProbeResult
from domains.stspolicy import RecordError, parse_sts_policy

# Probes of one domain's MX hosts stop starting after this many deadlines (the health
# task has CELERY_TASK_SOFT_TIME_LIMIT for everything, the DNS checks included).
BUDGET_PROBES = 4


def _policy_mx(checks: list[DnsCheck]) -> list[str] | None:
    """The patterns of the MTA-STS policy just fetched; None without one in force."""
    sts = next((c for c in checks if c.kind == CheckKind.MTA_STS), None)
    body = sts.records.get("policy") if sts is not None else None
    if not isinstance(body, str):
        return None
    try:
        policy = parse_sts_policy(body)
    except RecordError:
        return None
    return None if policy.mode == "none" else list(policy.mx)


def _tlsa(checks: list[DnsCheck], host: str) -> list[str]:
    dane = next((c for c in checks if c.kind == CheckKind.DANE), None)
    seen = dane.records.get(f"_25._tcp.{host}") if dane is not None else None
    return list(seen.get("records") or []) if isinstance(seen, dict) else []


def _out_of_time(host: str) -> ProbeResult:
    return ProbeResult(
        host=host, probed_at=timezone.now(), error_code="probe_timeout",
        error="not probed in this run's time budget (other MX hosts were slow).",
    )  # fmt: skip


def check_mx_tls(hosts: list[str], checks: list[DnsCheck]) -> CheckResult:
    """Probe (or reuse the shared probe of) each host and judge it for this domain.

    The hosts share a budget of BUDGET_PROBES probe deadlines, so the health task stays
    within its time limit; hosts left over are unknown, and the task's retry reaches them
    (the probes already made are reused).
    """
    outcome = CheckResult(CheckKind.MX_TLS)
    policy_mx, now, facts = _policy_mx(checks), timezone.now(), {}
    budget_ends = time.monotonic() + BUDGET_PROBES * settings.MX_PROBE_DEADLINE
    for host in hosts:
        within = time.monotonic() < budget_ends
        probe = probe_shared(host) if within else _out_of_time(host)
        facts[host] = probe.facts()
        outcome.findings += probe_findings(
            probe, now=now, policy_mx=policy_mx, tlsa=_tlsa(checks, host)
        )
    outcome.records = {"hosts": facts}
    return outcome


def domain_mx_tls_check(*, domain: Domain, checks: list[DnsCheck]) -> DnsCheck | None:
    """Run and store the ``mx_tls`` check after ``checks`` (this run's DNS checks)."""
    domain.refresh_from_db(fields=["mx_hosts"])
    hosts = [h for h in domain.mx_hosts if h][: settings.DNS_MAX_MX_HOSTS]
    if not hosts:
        return None
    outcome = check_mx_tls(hosts, checks)
    with transaction.atomic():
        locked = Domain.objects.select_for_update().select_related("tenant").get(pk=domain.pk)
        check = check_store(locked, outcome, timezone.now())
        if check.changed:
            domain_event_send(locked, "dns_check.changed", check=check)
    return check
