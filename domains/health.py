"""A domain's health checks: the worker's run of them, and the one a person starts.

``domain_health_refresh`` is what the ``check_domain_health`` task runs: ownership, then
every DNS health check. ``domain_check_manual`` is "Check now": ownership at once, the
health checks of a verified domain queued for the worker (once), within the tenant's
``DNS_MANUAL_CHECKS_PER_HOUR``.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from accounts.models import User
from domains.checks import domain_health_check
from domains.models import DnsCheck, Domain
from domains.probes.checks import domain_mx_tls_check
from domains.verification import CHECK_DOMAIN_HEALTH, CheckResult, domain_check
from tlsrpt_saas.queueing import task_queue_on_commit
from tlsrpt_saas.ratelimit import window_hit


class ManualCheckLimit(Exception):
    """The tenant started DNS_MANUAL_CHECKS_PER_HOUR checks in this hour already."""


@dataclass(frozen=True)
class ManualCheck:
    ownership: CheckResult
    # When the ownership check ran, if health checks were queued: the page waits for a
    # health run after it. None: the domain is not verified, nothing was queued.
    health_after: datetime | None


def domain_health_refresh(*, domain: Domain) -> list[DnsCheck]:
    """Ownership (without TLS-RPT: the health check stores its state), every DNS health
    check, then the live TLS probe of the MX hosts they found."""
    domain_check(domain=domain, tlsrpt=False)
    checks = domain_health_check(domain=domain)
    mx_tls = domain_mx_tls_check(domain=domain, checks=checks)
    return checks if mx_tls is None else [*checks, mx_tls]


def domain_check_manual(*, domain: Domain, actor: User | None = None) -> ManualCheck:
    """Check ownership now and queue the health checks of a verified domain.

    Raises ManualCheckLimit past the tenant's hourly limit (counted in the cache). A
    domain this check verifies has its health checks queued by ``domain_check`` itself;
    they are not queued a second time.
    """
    count, _ = window_hit("dns-manual-checks", domain.tenant_id, 3600)
    if count > settings.DNS_MANUAL_CHECKS_PER_HOUR:
        raise ManualCheckLimit
    was_verified = domain.is_verified
    result = domain_check(domain=domain, actor=actor)
    domain.refresh_from_db()
    if not domain.is_verified or domain.checked_at is None:
        return ManualCheck(result, None)
    if was_verified:
        task_queue_on_commit(CHECK_DOMAIN_HEALTH, domain.pk)
    return ManualCheck(result, domain.checked_at)
