"""Reads of a domain's hosted MTA-STS policy, and what a customer publishes for it.

Callers are inside the domain's tenant's scope.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from domains.hosting import dns_zone
from domains.hosting.models import HostedPolicy, HostedPolicyVersion, StsMode, TxtMode
from domains.hosting.policy import (
    ONE_DAY,
    Coverage,
    PolicyContent,
    mx_coverage,
    policy_text,
    recommended_max_age,
)
from domains.models import Domain


def hosted_policy_of(domain: Domain) -> HostedPolicy:
    """The domain's hosted policy, or an unsaved one (off, testing, mx from its MX hosts)."""
    found = HostedPolicy.objects.filter(domain=domain).first()
    if found is not None:
        return found
    return HostedPolicy(
        tenant_id=domain.tenant_id, domain=domain, enabled=False, mode=StsMode.TESTING,
        mx=list(domain.mx_hosts), max_age=ONE_DAY,
    )  # fmt: skip


def hosted_policy_versions(policy: HostedPolicy) -> list[HostedPolicyVersion]:
    """Newest first, with who made each change."""
    if policy.pk is None:
        return []
    rows = HostedPolicyVersion.objects.filter(hosted_policy=policy).select_related("changed_by")
    return list(rows.order_by("-changed_at", "-pk"))


def policy_url(domain_name: str) -> str:
    return f"https://mta-sts.{domain_name}/.well-known/mta-sts.txt"


@dataclass(frozen=True)
class DnsRecord:
    name: str
    type: str
    value: str


def txt_record(domain_name: str, policy_id: str) -> DnsRecord:
    """The ``_mta-sts`` TXT record naming the current policy id (RFC 8461 §3.1)."""
    return DnsRecord(f"_mta-sts.{domain_name}", "TXT", f"v=STSv1; id={policy_id}")


def id_record(domain_name: str, policy: HostedPolicy) -> DnsRecord:
    """What the customer publishes at ``_mta-sts.<domain>``: in txt_mode hosted, once, a
    CNAME to the name our DNS server answers with the id; otherwise the TXT record itself."""
    if policy.txt_mode == TxtMode.HOSTED and dns_zone.offered():
        return DnsRecord(f"_mta-sts.{domain_name}", "CNAME", f"{dns_zone.record_name(policy)}.")
    return txt_record(domain_name, policy.policy_id)


def cname_record(domain_name: str) -> DnsRecord:
    """Where ``mta-sts.<domain>`` points so that senders reach us."""
    return DnsRecord(f"mta-sts.{domain_name}", "CNAME", settings.HOSTED_MTA_STS_TARGET)


@dataclass(frozen=True)
class HostingView:
    """Everything the page and the API show about a domain's hosting."""

    policy: HostedPolicy
    text: str
    url: str
    txt: DnsRecord
    cname: DnsRecord
    coverage: Coverage
    mx_hosts: list[str]
    recommended_max_age: int
    recommended_why: str
    hosted_dns_unavailable: str = ""  # why txt_mode hosted is not offered; "" when it is


def hosting_view(domain: Domain, policy: HostedPolicy | None = None) -> HostingView:
    policy = policy or hosted_policy_of(domain)
    content = PolicyContent(policy.mode, tuple(policy.mx), policy.max_age)
    recommended, why = recommended_max_age(policy.mode, _days_enforced(policy))
    return HostingView(
        policy=policy, text=policy_text(content), url=policy_url(domain.name),
        txt=id_record(domain.name, policy), cname=cname_record(domain.name),
        coverage=mx_coverage(policy.mx, domain.mx_hosts), mx_hosts=list(domain.mx_hosts),
        recommended_max_age=recommended, recommended_why=why,
        hosted_dns_unavailable=dns_zone.unavailable_reason(),
    )  # fmt: skip


def _days_enforced(policy: HostedPolicy) -> int | None:
    """Whole days since the policy last entered enforce (None unless it is enforced now)."""
    if policy.pk is None or policy.mode != StsMode.ENFORCE:
        return None
    since = (
        HostedPolicyVersion.objects.filter(hosted_policy=policy)
        .exclude(mode=StsMode.ENFORCE)
        .order_by("-changed_at")
        .values_list("changed_at", flat=True)
        .first()
    )
    start = (
        HostedPolicyVersion.objects.filter(hosted_policy=policy, mode=StsMode.ENFORCE)
        .filter(**({"changed_at__gt": since} if since else {}))
        .order_by("changed_at")
        .values_list("changed_at", flat=True)
        .first()
    )
    return (timezone.now() - start).days if start else 0


def expected_id_record(domain: Domain) -> tuple[str, DnsRecord] | None:
    """While hosting is on: the current policy id, and what ``_mta-sts.<domain>`` should be
    (the TXT record naming it, or in txt_mode hosted the CNAME to our zone)."""
    policy = HostedPolicy.objects.filter(domain=domain, enabled=True).first()
    return (policy.policy_id, id_record(domain.name, policy)) if policy else None
