"""Reporters that disagree: on the same day and under the same policy, one organization
reports a failure while another's sessions all succeeded.

Such a split has a few known causes (the policy server refusing some clients, a
redirect, a wrong Content-Type, a policy id out of step with the policy, a cached old
policy). The latest MTA-STS check's findings name the likely one when they show it;
otherwise the candidates for that result type are listed.

Callers are inside the tenant's scope.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from domains.models import DnsCheck, Domain
from reports.dashboards.periods import Period
from reports.dashboards.probe_notes import FailureRow
from reports.models import DailyStat

CAUSES = {
    "client_refused": (
        "The policy server refuses some clients: Microsoft fetches the policy without a "
        "User-Agent, and over IPv6 more often, so a web server or firewall rule against "
        "empty User-Agents, or an AAAA record of mta-sts.{domain} leading elsewhere, fails "
        "it alone."
    ),
    "redirect": (
        "The policy URL redirects or answers other than 200: RFC 8461 forbids following "
        "redirects, so strict senders fail while others still hold a copy fetched before."
    ),
    "content_type": (
        "The policy is served with a Content-Type other than text/plain: strict senders "
        "refuse it, lenient ones accept it."
    ),
    "id_mismatch": (
        "The id in the _mta-sts.{domain} TXT record changed without the policy (or the "
        "policy changed without a new id): senders that cached a version keep it until "
        "its max_age ends, others fetch the current one."
    ),
    "cached_policy": (
        "A sender still uses an older policy it cached (other mx lines or mode) until its "
        "max_age ends, while others use the current one."
    ),
    "missing_intermediate": (
        "The MX serves its certificate without the intermediate certificates: senders that "
        "complete the chain themselves (from a cache or the issuer's URL) succeed, others "
        "do not."
    ),
    "tlsa_cache": (
        "Senders cache the TLSA records for their TTL: after a certificate or TLSA change, "
        "some still check the old records while others already see the new ones."
    ),
    "several_servers": (
        "The MX name leads to several servers (IPv4 and IPv6 addresses, a load balancer), "
        "and only some of them serve the faulty certificate or configuration."
    ),
}
CANDIDATES = {
    "sts-policy-fetch-error": ("client_refused", "redirect", "content_type"),
    "sts-policy-invalid": ("content_type", "id_mismatch", "cached_policy"),
    "sts-webpki-invalid": ("client_refused", "several_servers"),
    "validation-failure": ("cached_policy", "id_mismatch"),
    "certificate-host-mismatch": ("cached_policy", "several_servers"),
    "certificate-not-trusted": ("missing_intermediate", "several_servers"),
    "certificate-expired": ("several_servers",),
    "starttls-not-supported": ("several_servers",),
}
# Under DANE there is no policy to cache, but TLSA records are cached for their TTL.
DEFAULT_CANDIDATES = {"tlsa": ("tlsa_cache", "several_servers")}
OTHER_CANDIDATES = ("several_servers", "cached_policy")
# What the MTA-STS check found -> the cause it shows.
EVIDENCE = {
    "sts_fetch_status": "redirect",
    "sts_fetch_content_type": "content_type",
    "sts_id_not_current": "id_mismatch",
}


@dataclass(frozen=True)
class Cause:
    code: str
    text: str
    evidence: str = ""  # what our own check found, when it shows this cause


@dataclass(frozen=True)
class Disagreement:
    policy_type: str
    result_type: str
    failing: tuple[str, ...]  # organizations that reported the failure
    succeeding: tuple[str, ...]  # organizations whose sessions all succeeded those days
    days: tuple[date, ...]
    mx: tuple[str, ...]
    likely: tuple[Cause, ...]  # named by our checks' evidence
    candidates: tuple[Cause, ...]  # listed when no evidence names one


def clean_organizations(domain: Domain, period: Period) -> dict[tuple[date, str], set[str]]:
    """(day, policy type) -> organizations with successful and no failed sessions (one query)."""
    rows = DailyStat.objects.filter(
        period.q(), domain=domain, failed=0, successful__gt=0
    ).values_list("day", "policy_type", "organization")
    clean: dict[tuple[date, str], set[str]] = defaultdict(set)
    for day, policy_type, organization in rows:
        clean[(day, policy_type)].add(organization)
    return dict(clean)


def disagreements(
    rows: list[FailureRow],
    clean: dict[tuple[date, str], set[str]],
    sts_check: DnsCheck | None,
    domain_name: str,
) -> list[Disagreement]:
    """Each split between reporters, grouped over the days it repeats, with its causes."""
    groups: dict[tuple, tuple[set[date], set[str]]] = {}
    for (day, policy_type, result_type), (failing, mx) in _failures(rows).items():
        succeeding = clean.get((day, policy_type), set()) - failing
        if not succeeding:
            continue
        key = (policy_type, result_type, tuple(sorted(failing)), tuple(sorted(succeeding)))
        days, hosts = groups.setdefault(key, (set(), set()))
        days.add(day)
        hosts.update(mx)
    evidence = _evidence(sts_check)
    found = []
    for (policy_type, result_type, failing, succeeding), (days, hosts) in sorted(groups.items()):
        likely, candidates = _causes(policy_type, result_type, evidence, domain_name)
        named = tuple(sorted(h for h in hosts if h))
        on = tuple(sorted(days))
        split = (policy_type, result_type, failing, succeeding, on, named, likely, candidates)
        found.append(Disagreement(*split))
    return found


def _failures(rows: list[FailureRow]) -> dict[tuple[date, str, str], tuple[set[str], set[str]]]:
    """(day, policy type, result type) -> (reporting organizations, MX hosts)."""
    failures: dict[tuple[date, str, str], tuple[set[str], set[str]]] = {}
    for row in rows:
        organizations, mx = failures.setdefault(
            (row.day, row.policy_type, row.result_type), (set(), set())
        )
        organizations.add(row.organization)
        mx.add(row.receiving_mx)
    return failures


def _evidence(check: DnsCheck | None) -> dict[str, str]:
    """Cause code -> the message of the MTA-STS finding that shows it."""
    shown: dict[str, str] = {}
    for finding in (check.findings or []) if check is not None else []:
        cause = EVIDENCE.get(str(finding.get("code", "")))
        if cause and finding.get("level") != "ok":
            shown.setdefault(cause, str(finding.get("message", "")))
    return shown


def _causes(
    policy_type: str, result_type: str, evidence: dict[str, str], domain_name: str
) -> tuple[tuple[Cause, ...], tuple[Cause, ...]]:
    default = DEFAULT_CANDIDATES.get(policy_type, OTHER_CANDIDATES)
    codes = CANDIDATES.get(result_type, default)
    likely = tuple(
        Cause(code, CAUSES[code].format(domain=domain_name), evidence[code])
        for code in codes
        if code in evidence
    )
    if likely:
        return likely, ()
    return (), tuple(Cause(code, CAUSES[code].format(domain=domain_name)) for code in codes)
