"""Which of a tenant's verified domains a report's policy counts for.

Anyone can point a ``rua=`` at any address, so only verified domains count. A policy
counts for the verified domain its ``policy-domain`` names; a DANE (tlsa) policy that
names an MX host counts for the domain whose MX that is (or a parent domain of it).
When the policy names no domain, or an MX host that matched nothing, the carrier's
``TLS-Report-Domain`` header, then the RFC 8460 section 5.1 file name
(``sender!policy-domain!begin!end...``) decide. A policy with no ``policy-domain`` at
all (sys4's reporter for Postfix) is first matched by the domain that Google, Microsoft
and sys4 put at the end of the report-id (``..._example.com``, ``...+example.com``).
"""

from dataclasses import dataclass

from domains.models import Domain
from reports.tlsrpt import Policy


@dataclass(slots=True)
class VerifiedDomains:
    by_name: dict[str, int]
    by_mx: dict[str, int]

    @classmethod
    def for_tenant(cls, tenant_id: int) -> "VerifiedDomains":
        rows = Domain.objects.filter(tenant_id=tenant_id, verified_at__isnull=False).values_list(
            "id", "name", "mx_hosts"
        )
        by_name: dict[str, int] = {}
        by_mx: dict[str, int] = {}
        for domain_id, name, mx_hosts in rows:
            by_name[name] = domain_id
            for mx in mx_hosts or ():
                by_mx.setdefault(_host(mx), domain_id)
        return cls(by_name=by_name, by_mx=by_mx)

    def domain_for(
        self, policy: Policy, report_id: str, fallbacks: tuple[str | None, ...]
    ) -> int | None:
        name = _host(policy.policy_domain or "")
        if name in self.by_name:
            return self.by_name[name]
        if name and policy.policy_type != "tlsa":
            return None  # a report about another domain never counts for a verified one
        found = (self.by_mx.get(name) or self._parent_of(name)) if name else None
        found = found or (None if name else self._suffix_of(report_id))
        if found:
            return found
        for fallback in fallbacks:
            if fallback and _host(fallback) in self.by_name:
                return self.by_name[_host(fallback)]
        return None

    def _suffix_of(self, report_id: str) -> int | None:
        for separator in ("_", "+"):
            if separator in report_id:
                found = self.by_name.get(_host(report_id.rsplit(separator, 1)[-1]))
                if found:
                    return found
        return None

    def _parent_of(self, host: str) -> int | None:
        labels = host.split(".")
        for i in range(1, len(labels) - 1):
            found = self.by_name.get(".".join(labels[i:]))
            if found:
                return found
        return None


def _host(name: str) -> str:
    return name.strip().rstrip(".").lower()


def domain_from_filename(filename: str | None) -> str | None:
    """The policy domain of an RFC 8460 section 5.1 file name, if it is one."""
    if not filename:
        return None
    parts = filename.rsplit("/", 1)[-1].split("!")
    return parts[1] if len(parts) >= 4 and parts[1] else None
