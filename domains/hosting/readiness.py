"""Readiness to enforce as the domains app sees it: which MTA-STS mode a domain is in, and
a slot for the verdict that the reports app computes.

The verdict is read from TLS-RPT reports, which live in ``reports``; apps import downward
only (accounts ← domains ← reports), so domains cannot call it. Instead ``reports``
registers its function here when it starts (``reports.apps``), and domains' own pages and
API ask ``readiness_for(domain)``: a plain dict (the API's ``readiness`` field), or None
while nothing is registered. Callers are inside the domain's tenant's scope.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domains.hosting.models import HostedPolicy
from domains.models import CheckKind, CheckStatus, DnsCheck, Domain
from domains.stspolicy import RecordError, parse_sts_policy

ReadinessProvider = Callable[[Domain], dict[str, Any]]

_provider: list[ReadinessProvider] = []


def register_readiness(provider: ReadinessProvider) -> None:
    """Make ``provider`` the one computing readiness (a second registration replaces it)."""
    _provider[:] = [provider]


def readiness_for(domain: Domain) -> dict[str, Any] | None:
    """The domain's readiness to enforce as a dict; None when no provider is registered."""
    return _provider[0](domain) if _provider else None


@dataclass(frozen=True)
class ModeSeen:
    mode: str  # none | testing | enforce
    source: str  # hosted: the policy we serve; published: the policy the DNS check fetched


def sts_mode(domain: Domain) -> ModeSeen | None:
    """The mode of the domain's MTA-STS policy; None when it has none we know of.

    A policy we host is what senders get, so it wins; otherwise the policy fetched by the
    latest definitive MTA-STS health check (its ``records["policy"]``), parsed again.
    """
    hosted = HostedPolicy.objects.filter(domain=domain, enabled=True).only("mode").first()
    if hosted is not None:
        return ModeSeen(hosted.mode, "hosted")
    records = (
        DnsCheck.objects.filter(domain=domain, kind=CheckKind.MTA_STS)
        .exclude(status=CheckStatus.UNKNOWN)
        .order_by("-checked_at", "-pk")
        .values_list("records", flat=True)
        .first()
    )
    body = records.get("policy") if isinstance(records, dict) else None
    if not isinstance(body, str):
        return None
    try:
        return ModeSeen(parse_sts_policy(body).mode, "published")
    except RecordError:
        return None
