"""DNS health checks of a verified domain: TLS-RPT, MTA-STS, MX and DANE.

Each kind of check looks things up, judges them with ``domains.records`` and stores one
``DnsCheck`` with its findings and the raw records. A lookup without a definitive answer
(timeout, SERVFAIL) makes that check ``unknown``: stored, retried, and never taken as the
domain's state, so a flaky resolver cannot flap it.
"""

from dataclasses import dataclass, field
from datetime import datetime

import dns.resolver
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from domains import records as grammar
from domains.dane import TlsaSet, dane_findings
from domains.dns import DnsTemporaryError, lookup, make_resolver
from domains.events import domain_event_send
from domains.findings import Finding, Level, worst_level
from domains.hosting.selectors import DnsRecord, expected_id_record
from domains.models import CheckKind, CheckStatus, DnsCheck, Domain
from domains.stsfetch import fetch_sts_policy


@dataclass
class CheckResult:
    """One kind of DNS check's findings and the records it saw (stored as a DnsCheck)."""

    kind: CheckKind
    findings: list[Finding] = field(default_factory=list)
    records: dict[str, object] = field(default_factory=dict)

    @property
    def status(self) -> CheckStatus:
        if any(f.level == Level.UNKNOWN for f in self.findings):
            return CheckStatus.UNKNOWN
        return CheckStatus(str(worst_level(self.findings)))


def _unknown(kind: CheckKind, error: DnsTemporaryError) -> Finding:
    return Finding(
        Level.UNKNOWN, f"{kind}_unknown",
        f"DNS gave no definitive answer ({error}); the check will run again shortly.",
    )  # fmt: skip


@dataclass(frozen=True)
class MxHost:
    preference: int
    host: str


def _mx_hosts(records: list[str]) -> list[MxHost]:
    hosts = []
    for record in records:
        preference, _, host = record.partition(" ")
        hosts.append(MxHost(int(preference), host.rstrip(".").lower()))
    return sorted(hosts, key=lambda mx: (mx.preference, mx.host))


def check_mx(name: str, resolver: dns.resolver.Resolver) -> tuple[CheckResult, list[str] | None]:
    """The domain's MX hosts, most preferred first; None when DNS gave no answer."""
    outcome = CheckResult(CheckKind.MX)
    try:
        answer = lookup(name, "MX", resolver)
    except DnsTemporaryError as e:
        outcome.findings.append(_unknown(CheckKind.MX, e))
        return outcome, None
    outcome.records = {name: answer.records, "dnssec_validated": answer.validated}
    hosts = _mx_hosts(answer.records)
    outcome.findings.append(_judge_mx(name, hosts, answer.nxdomain))
    return outcome, [mx.host for mx in hosts if mx.host]


def _judge_mx(name: str, hosts: list[MxHost], nxdomain: bool) -> Finding:
    if nxdomain:
        return Finding(
            Level.ERROR, "mx_domain_missing", f"{name} does not exist in DNS (NXDOMAIN).",
            f"Check the domain's spelling and that its zone is delegated; then publish MX "
            f"records for {name}.",
        )  # fmt: skip
    if not hosts:
        return Finding(
            Level.WARNING, "mx_missing",
            f"{name} has no MX records, so senders deliver to its address (A/AAAA) record.",
            f"Publish an MX record naming the host that receives mail for {name}.",
        )  # fmt: skip
    if len(hosts) == 1 and hosts[0].host == "":
        return Finding(
            Level.OK, "mx_null", f"{name} publishes a null MX: it accepts no mail (RFC 7505)."
        )
    listed = ", ".join(f"{mx.host} ({mx.preference})" for mx in hosts)
    return Finding(Level.OK, "mx_ok", f"Mail for {name} goes to {listed}.")


def check_tlsrpt(domain: Domain, resolver: dns.resolver.Resolver) -> CheckResult:
    outcome = CheckResult(CheckKind.TLSRPT)
    tenant = domain.tenant
    our_uris = [f"mailto:{tenant.inbound_address}", tenant.https_rua_url]
    try:
        found = lookup(domain.tlsrpt_name, "TXT", resolver)
        outcome.records[domain.tlsrpt_name] = found.records
        apex = None
        if not any(r.startswith("v=TLSRPTv1") for r in found.records):
            apex = lookup(domain.name, "TXT", resolver).records
            outcome.records[domain.name] = apex
    except DnsTemporaryError as e:
        outcome.findings.append(_unknown(CheckKind.TLSRPT, e))
        return outcome
    outcome.findings += grammar.tlsrpt_findings(
        found.records or None, domain=domain.name, our_uris=our_uris, apex_records=apex
    )
    return outcome


def check_mta_sts(
    name: str,
    mx_hosts: list[str] | None,
    resolver: dns.resolver.Resolver,
    hosted_id: str | None = None,
    hosted_record: DnsRecord | None = None,
) -> CheckResult:
    """The ``_mta-sts`` record and the policy it announces; ``hosted_id``: the id of the
    policy we host for ``name`` (None when we host none), which the record must name;
    ``hosted_record``: what the customer publishes for it (TXT, or a CNAME to our zone)."""
    outcome = CheckResult(CheckKind.MTA_STS)
    record_name = f"_mta-sts.{name}"
    try:
        found = lookup(record_name, "TXT", resolver)
    except DnsTemporaryError as e:
        outcome.findings.append(_unknown(CheckKind.MTA_STS, e))
        return outcome
    outcome.records[record_name] = found.records
    policy_id, findings = grammar.sts_record_findings(found.records or None, domain=name)
    outcome.findings += findings
    if policy_id is not None and hosted_id is not None and policy_id != hosted_id:
        outcome.findings.append(_id_not_current(name, policy_id, hosted_id, hosted_record))
    if policy_id is not None:
        outcome.findings += _policy_findings(name, mx_hosts, resolver, outcome.records)
    return outcome


def _id_not_current(
    name: str, published: str, hosted: str, record: DnsRecord | None = None
) -> Finding:
    # Senders refetch a policy only when the record's id changes (RFC 8461 §3.3).
    fix = f"Change the TXT record at _mta-sts.{name} to: v=STSv1; id={hosted}"
    if record is not None and record.type == "CNAME":  # our DNS server answers the id
        fix = (f"Replace the TXT record at _mta-sts.{name} with a CNAME to {record.value}: "
               "our DNS server answers there with each new id.")  # fmt: skip
    return Finding(
        Level.WARNING, "sts_id_not_current",
        f"_mta-sts.{name} names policy id {published}, but the policy we host for {name} "
        f"is {hosted}: senders that fetched an older version keep it until its max_age ends.",
        fix,
    )  # fmt: skip


def _policy_findings(
    name: str, mx_hosts: list[str] | None, resolver: dns.resolver.Resolver, seen: dict
) -> list[Finding]:
    fetched = fetch_sts_policy(
        name,
        resolver=resolver,
        timeout=settings.MTA_STS_TIMEOUT,
        max_bytes=settings.MTA_STS_MAX_BYTES,
        port=settings.MTA_STS_PORT,
        ca_file=settings.MTA_STS_CA_FILE or None,
        allowed_addresses=frozenset(settings.MTA_STS_ALLOWED_ADDRESSES),
    )
    seen["policy_url"] = fetched.url
    seen["policy_address"] = fetched.address
    seen["policy_status"] = fetched.status
    if not fetched.ok:
        level = Level.ERROR if fetched.definitive else Level.UNKNOWN
        return [Finding(level, fetched.error_code, fetched.message, fetched.fix)]
    seen["policy"] = fetched.body
    try:
        policy = grammar.parse_sts_policy(fetched.body)
    except grammar.RecordError as e:
        return [Finding(Level.ERROR, e.code, f"The policy at {fetched.url} is invalid: {e}",
                        _policy_example(name, mx_hosts))]  # fmt: skip
    return grammar.sts_policy_findings(policy, domain=name, mx_hosts=mx_hosts or [])


def _policy_example(name: str, mx_hosts: list[str] | None) -> str:
    mx_lines = "\n".join(f"mx: {host}" for host in mx_hosts or [f"mx.{name}"])
    return (
        f"Serve a policy like this at https://mta-sts.{name}/.well-known/mta-sts.txt:\n"
        f"version: STSv1\nmode: enforce\n{mx_lines}\nmax_age: 604800"
    )


def check_dane(
    mx_hosts: list[str] | None, mx_validated: bool, resolver: dns.resolver.Resolver
) -> CheckResult:
    outcome = CheckResult(CheckKind.DANE)
    if mx_hosts is None:
        outcome.findings.append(
            Finding(Level.UNKNOWN, "dane_unknown", "The MX records could not be looked up.")
        )
        return outcome
    tlsa: dict[str, TlsaSet] = {}
    try:
        for host in mx_hosts[: settings.DNS_MAX_MX_HOSTS]:
            found = lookup(f"_25._tcp.{host}", "TLSA", resolver)
            tlsa[host] = TlsaSet(found.records, found.validated)
    except DnsTemporaryError as e:
        outcome.findings.append(_unknown(CheckKind.DANE, e))
        return outcome
    outcome.records = {f"_25._tcp.{h}": {"records": s.records, "dnssec_validated": s.validated}
                       for h, s in tlsa.items()}  # fmt: skip
    outcome.findings += dane_findings(tlsa, mx_validated=mx_validated)
    return outcome


def run_checks(domain: Domain) -> tuple[list[CheckResult], list[str] | None]:
    """Every check's outcome, and the MX hosts (None when DNS gave no answer for them)."""
    resolver = make_resolver()
    mx, mx_hosts = check_mx(domain.name, resolver)
    mx_validated = bool(mx.records.get("dnssec_validated"))
    outcomes = [
        check_tlsrpt(domain, resolver),
        check_mta_sts(domain.name, mx_hosts, resolver, *(expected_id_record(domain) or ())),
        mx,
        check_dane(mx_hosts, mx_validated, resolver),
    ]
    return outcomes, mx_hosts


def tlsrpt_summary(outcome: CheckResult) -> tuple[bool | None, str]:
    """Whether reports reach this tenant (None: no definitive answer), and why not."""
    problems = [f for f in outcome.findings if f.level != Level.OK]
    if outcome.status == CheckStatus.UNKNOWN:
        return None, problems[0].message
    if not problems:
        return True, "The TLS-RPT record sends reports to this tenant."
    return False, problems[0].message


def domain_health_check(*, domain: Domain) -> list[DnsCheck]:
    """Run every check for ``domain`` and store them; the caller is in its tenant's scope."""
    outcomes, mx_hosts = run_checks(domain)
    now = timezone.now()
    with transaction.atomic():
        domain = Domain.objects.select_for_update().select_related("tenant").get(pk=domain.pk)
        stored = [check_store(domain, outcome, now) for outcome in outcomes]
        _update_domain(domain, outcomes[0], mx_hosts, now)
        for check in stored:
            if check.changed:
                domain_event_send(domain, "dns_check.changed", check=check)
    return stored


def check_store(domain: Domain, outcome: CheckResult, now: datetime) -> DnsCheck:
    """Store one check's outcome; the caller holds the domain's row lock."""
    status = outcome.status
    previous = (
        DnsCheck.objects.filter(domain=domain, kind=outcome.kind)
        .exclude(status=CheckStatus.UNKNOWN)
        .order_by("-checked_at", "-pk")
        .values_list("status", flat=True)
        .first()
    )
    changed = status != CheckStatus.UNKNOWN and previous is not None and previous != status
    return DnsCheck.objects.create(
        tenant_id=domain.tenant_id, domain=domain, kind=outcome.kind, status=status,
        findings=[f.as_dict() for f in outcome.findings], records=outcome.records,
        checked_at=now, changed=changed, previous_status=previous or "",
    )  # fmt: skip


def _update_domain(
    domain: Domain, tlsrpt: CheckResult, mx_hosts: list[str] | None, now: datetime
) -> None:
    domain.health_checked_at = now
    if mx_hosts is not None:
        domain.mx_hosts = mx_hosts
    ok, message = tlsrpt_summary(tlsrpt)
    if ok is not None:
        domain.tlsrpt_ok, domain.tlsrpt_message = ok, message[:500]
    domain.save(update_fields=["health_checked_at", "mx_hosts", "tlsrpt_ok", "tlsrpt_message"])
