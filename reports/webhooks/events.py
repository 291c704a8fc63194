"""The events a tenant's webhooks receive, and the JSON of each (a stable schema).

Every payload is ``{"type": <event type>, "timestamp": <ISO 8601, UTC>, "data": {...}}``,
the shape the Standard Webhooks specification recommends; ``data`` holds the tenant's
slug and, under ``links``, absolute URLs of the pages the event is about. The schema of
each event's ``data`` is in ``reports.webhooks.schema`` (served in the OpenAPI document's
``webhooks``); fields are only ever added.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from domains.models import DnsCheck, Domain
from reports.models import Alert

EVENT_TYPES = {
    "alert.opened": "An alert opened on a domain (failures, DNS, a silent reporter).",
    "alert.resolved": "An open alert cleared.",
    "report.received": "A TLS-RPT report was stored, with its numbers per policy.",
    "domain.verified": "A domain's ownership was verified.",
    "domain.unverified": "A domain is no longer verified (its ownership record is gone).",
    "dns_check.changed": "A DNS health check of a domain changed status.",
    "mta_sts.changed": "A domain's hosted MTA-STS policy changed.",
    "digest.ready": "The weekly digest of the tenant was built and sent.",
}
TEST_EVENT = "webhook.test"  # sent by "Send a test event" alone; no endpoint subscribes


def envelope(event_type: str, data: dict[str, Any], at: datetime | None = None) -> dict:
    at = (at or datetime.now(UTC)).astimezone(UTC)
    return {"type": event_type, "timestamp": at.isoformat(), "data": data}


def url(name: str, *args: object) -> str:
    return settings.SITE_URL + reverse(name, args=list(args))


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def domain_data(domain: Domain) -> dict[str, Any]:
    return {"id": domain.pk, "name": domain.name}


def alert_payload(alert: Alert, event_type: str) -> dict:
    domain = alert.domain
    slug = domain.tenant.slug
    return envelope(event_type, {
        "tenant": slug,
        "domain": domain_data(domain),
        "alert": {
            "id": alert.pk, "kind": alert.kind, "key": alert.key, "title": alert.title,
            "message": alert.message, "fix": alert.fix, "opened_at": iso(alert.opened_at),
            "resolved_at": iso(alert.resolved_at),
        },
        "links": {
            "dashboard": url("domain_dashboard", slug, domain.pk),
            "domain": url("domain_detail", slug, domain.pk),
        },
    })  # fmt: skip


@dataclass(frozen=True)
class PolicyNumbers:
    policy_type: str
    policy_domain: str
    domain_id: int | None  # the tenant's verified domain it was attributed to
    successful: int
    failed: int
    counted: bool  # False: the same sessions reported under another policy too


@dataclass(frozen=True)
class ReportFacts:
    """What a report.received event tells of one stored report (from the batch store)."""

    tenant_id: int
    report_pk: int
    organization: str
    report_id: str
    start: datetime
    end: datetime
    successful: int
    failed: int
    policies: list[PolicyNumbers]
    test: bool = False  # a self-test's report, which counts nowhere


def report_payload(facts: ReportFacts, slug: str, names: dict[int, str]) -> dict:
    return envelope("report.received", {
        "tenant": slug,
        "report": {
            "id": facts.report_pk, "organization": facts.organization,
            "report_id": facts.report_id, "start": iso(facts.start), "end": iso(facts.end),
            "successful": facts.successful, "failed": facts.failed, "test": facts.test,
            "policies": [
                {
                    "policy_type": p.policy_type, "policy_domain": p.policy_domain,
                    "domain": names.get(p.domain_id) if p.domain_id else None,
                    "successful": p.successful, "failed": p.failed, "counted": p.counted,
                }
                for p in facts.policies
            ],
        },
        "links": {"report": url("report_detail", slug, facts.report_pk)},
    })  # fmt: skip


def domain_payload(event_type: str, domain: Domain, slug: str, extra: dict[str, Any]) -> dict:
    data: dict[str, Any] = {
        "tenant": slug,
        "domain": {**domain_data(domain), "verified_at": iso(domain.verified_at)},
        **extra,
        "links": {"domain": url("domain_detail", slug, domain.pk)},
    }
    if event_type == "mta_sts.changed":
        data["links"]["mta_sts"] = url("domain_mta_sts", slug, domain.pk)
    return envelope(event_type, data)


def check_extra(check: DnsCheck) -> dict[str, Any]:
    return {
        "check": {
            "kind": check.kind, "status": check.status, "previous_status": check.previous_status,
            "checked_at": iso(check.checked_at),
            "findings": [
                {k: f.get(k, "") for k in ("level", "code", "message", "fix")}
                for f in check.findings
            ],
        }
    }  # fmt: skip


def digest_payload(slug: str, start: str, end: str, domains: list[dict], link: str) -> dict:
    return envelope("digest.ready", {
        "tenant": slug, "week": {"start": start, "end": end}, "domains": domains,
        "links": {"overview": link},
    })  # fmt: skip


def ping_payload(slug: str, endpoint_pk: int) -> dict:
    return envelope(TEST_EVENT, {
        "tenant": slug, "message": "A test event from TLS-RPT: this endpoint is reachable.",
        "links": {"webhook": url("webhook_detail", slug, endpoint_pk)},
    })  # fmt: skip
