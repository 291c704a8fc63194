"""Query counts of every list page and list endpoint, pinned: an N+1 cannot creep in.

Each route is read for a tenant with 2 objects of its list and for one with 8; both
must stay within the same number of queries, and the larger may not take more than the
smaller. The numbers are today's: when a change lowers one, lower it here too.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.models import ApiKey, AuditEvent, Invitation, Role, Tenant
from domains.findings import Finding, Level
from domains.hosting.models import HostedPolicy
from domains.models import CheckKind, CheckStatus, DnsCheck, Domain
from reports.inbound.secrets import secret_encrypt
from reports.models import Alert, AlertKind, MailboxSource, Report
from reports.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import make_domain, make_member, make_tenant, owner_of
from tests.reports.helpers import ingest
from tests.reports.mail import report_json
from tests.web import fresh_client, login

pytestmark = pytest.mark.django_db

RESULT_TYPES = [
    "certificate-expired", "starttls-not-supported", "certificate-host-mismatch",
    "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
    "sts-policy-invalid",
]  # fmt: skip


def _day(i: int) -> date:
    """Day i of the data: recent, so inside the default period and the raw window."""
    return timezone.now().date() - timedelta(days=i + 1)


def _domains(tenant: Tenant, n: int) -> list[Domain]:
    return [make_domain(tenant, f"d{i}.example", mx_hosts=[f"mx.d{i}.example"]) for i in range(n)]


def _report(tenant: Tenant, i: int, domains: list[Domain]) -> Report:
    """Report i, of day i from organization "Org i", with a policy and a failure for each
    domain; its failures' result type, MX and sending IP are its own."""
    policies = []
    for domain in domains:
        policy = report_json(domain=domain.name)["policies"][0]
        detail = policy["failure-details"][0]
        detail["result-type"] = RESULT_TYPES[i]
        detail["receiving-mx-hostname"] = f"mx{i}.{domain.name}"
        detail["sending-mta-ip"] = f"192.0.2.{i + 10}"
        policy["summary"]["total-successful-session-count"] = 100 + i
        policies.append(policy)
    day = _day(i).isoformat()
    document = report_json(domain=domains[0].name, organization=f"Org {i}", day=day)
    document["policies"] = policies
    message, _ = ingest(tenant, json.dumps(document).encode(), f"report-{i}.json")
    with scopes_disabled():
        return Report.objects.get(inbound=message)


def _check(domain: Domain, kind: str, i: int) -> DnsCheck:
    finding = Finding(Level.ERROR, f"code_{i}", f"Problem {i} of {domain.name}.", "Fix it.")
    with scopes_disabled():
        return DnsCheck.objects.create(
            tenant=domain.tenant, domain=domain, kind=kind, status=CheckStatus.ERROR,
            findings=[finding.as_dict()], changed=True, previous_status=CheckStatus.OK,
            checked_at=timezone.now() - timedelta(days=i + 1),
        )  # fmt: skip


# Builders: make n objects of the route's list in a new tenant; answer the path to read
# and what the answer must show (so that a test never counts an empty page).
Built = tuple[str, list[str]]


def tenant_page(name: str, **kwargs: object) -> str:
    """The path of a tenant's page, its slug filled in by the test."""
    return reverse(name, kwargs={"slug": "SLUG", **kwargs})


def overview(tenant: Tenant, n: int) -> Built:
    """n verified domains with reports, DNS problems and open alerts; n unverified ones."""
    domains = _domains(tenant, n)
    for i, domain in enumerate(domains):
        _report(tenant, i, [domain])
        _check(domain, CheckKind.MTA_STS, i)
        with scopes_disabled():
            Alert.objects.create(
                tenant=tenant, domain=domain, kind=AlertKind.FAILURE_RATE,
                title=f"Alert {i}", message="Too many failures.",
            )  # fmt: skip
    for i in range(n):
        make_domain(tenant, f"u{i}.example", verified=False)
    shown = [f"d{i}.example" for i in range(n)] + [f"u{i}.example" for i in range(n)]
    return tenant_page("tenant_home"), shown + [f"Alert {i}" for i in range(n)]


def domain_list(tenant: Tenant, n: int) -> Built:
    for i in range(n):
        make_domain(tenant, f"u{i}.example", verified=i % 2 == 0)
    return tenant_page("domain_list"), [f"u{i}.example" for i in range(n)]


def domain_checks(name: str) -> Callable[[Tenant, int], Built]:
    """One domain with n checks of each kind in its history."""

    def build(tenant: Tenant, n: int) -> Built:
        (domain,) = _domains(tenant, 1)
        for i in range(n):
            for kind in CheckKind.values:
                _check(domain, kind, i)
        return tenant_page(name, pk=domain.pk), ["Problem 0 of d0.example"]

    return build


def dashboard(tenant: Tenant, n: int) -> Built:
    """One domain with n reports, each of its own organization, result type, MX and IP."""
    (domain,) = _domains(tenant, 1)
    for i in range(n):
        _report(tenant, i, [domain])
        _check(domain, CheckKind.MX, i)
    shown = [f"Org {i}" for i in range(n)] + [f"192.0.2.{i + 10}" for i in range(n)]
    return tenant_page("domain_dashboard", pk=domain.pk), shown + RESULT_TYPES[:n]


def reports(path: Callable[[Domain], str]) -> Callable[[Tenant, int], Built]:
    """n reports of one domain."""

    def build(tenant: Tenant, n: int) -> Built:
        (domain,) = _domains(tenant, 1)
        for i in range(n):
            _report(tenant, i, [domain])
        return path(domain), [f"Org {i}" for i in range(n)]

    return build


def report_policies(path: Callable[[Report], str]) -> Callable[[Tenant, int], Built]:
    """One report with a policy, and its failure detail, for each of n domains."""

    def build(tenant: Tenant, n: int) -> Built:
        report = _report(tenant, 0, _domains(tenant, n))
        return path(report), [f"mx0.d{i}.example" for i in range(n)]

    return build


def inbound(path: str) -> Callable[[Tenant, int], Built]:
    """n messages received, each with its report."""

    def build(tenant: Tenant, n: int) -> Built:
        (domain,) = _domains(tenant, 1)
        for i in range(n):
            _report(tenant, i, [domain])
        return path, [f"report-{i}.json" for i in range(n)]

    return build


def uploaded(tenant: Tenant, n: int) -> Built:
    """The upload page listing the n messages just uploaded, with their reports."""
    (domain,) = _domains(tenant, 1)
    ids = [_report(tenant, i, [domain]).inbound_id for i in range(n)]
    path = tenant_page("upload") + "?ids=" + ",".join(map(str, ids))
    return path, [f"report-{i}.json" for i in range(n)]


def mailboxes(tenant: Tenant, n: int) -> Built:
    for i in range(n):
        MailboxSource.objects.create(
            tenant=tenant, name=f"Box {i}", host="127.0.0.1", port=1, tls_mode="none",
            username=f"user{i}", password_encrypted=secret_encrypt("p"),
            last_error=f"Error {i}", last_error_at=timezone.now(),
        )  # fmt: skip
    return tenant_page("mailbox_list"), [f"Box {i}" for i in range(n)]


def members(path: str) -> Callable[[Tenant, int], Built]:
    """n members, and n invitations sent by them."""

    def build(tenant: Tenant, n: int) -> Built:
        for i in range(n):
            member = make_member(tenant, Role.MEMBER, email=f"member{i}@{tenant.slug}.test")
            with scopes_disabled():
                Invitation.objects.create(
                    tenant=tenant, email=f"invited{i}@x.test", invited_by=member.user
                )
        shown = [f"member{i}@{tenant.slug}.test" for i in range(n)]
        invited = [f"invited{i}@x.test" for i in range(n)]
        return path, shown + ([] if path.startswith("/api/") else invited)

    return build


def api_keys(tenant: Tenant, n: int) -> Built:
    owner = owner_of(tenant)
    for i in range(n):
        ApiKey.objects.create_key(tenant=tenant, name=f"Key {i}", created_by=owner)
    return tenant_page("api_keys"), [f"Key {i}" for i in range(n)]


def audit_log(tenant: Tenant, n: int) -> Built:
    owner = owner_of(tenant)
    with scopes_disabled():
        for i in range(n):
            AuditEvent.objects.create(
                tenant=tenant, actor=owner, actor_email=owner.email, action="test.event",
                summary=f"Event {i}", ip_address="192.0.2.1",
            )  # fmt: skip
    return tenant_page("audit_log"), [f"Event {i}" for i in range(n)]


def domains_api(tenant: Tenant, n: int) -> Built:
    """n domains, each with a check of every kind."""
    for i, domain in enumerate(_domains(tenant, n)):
        for kind in CheckKind.values:
            _check(domain, kind, i)
    return "/api/v1/domains", [f"Problem {i} of d{i}.example" for i in range(n)]


def stats_daily(tenant: Tenant, n: int) -> Built:
    """n domains, each with a report of its own day."""
    for i, domain in enumerate(_domains(tenant, n)):
        _report(tenant, i, [domain])
    return "/api/v1/stats/daily", [f'"successful":{100 + i}' for i in range(n)]


def breakdown(by: str) -> Callable[[Tenant, int], Built]:
    """One domain with n reports, each its own key of every breakdown."""

    def build(tenant: Tenant, n: int) -> Built:
        (domain,) = _domains(tenant, 1)
        for i in range(n):
            _report(tenant, i, [domain])
        path = f"/api/v1/stats/breakdown?by={by}&domain={domain.pk}"
        keys = {
            "result_type": RESULT_TYPES[:n],
            "receiving_mx": [f"mx{i}.d0.example" for i in range(n)],
            "organization": [f"Org {i}" for i in range(n)],
            "sending_ip": [f"192.0.2.{i + 10}" for i in range(n)],
        }
        return path, keys[by]

    return build


def metrics(tenant: Tenant, n: int) -> Built:
    """n domains, each with a report, DNS checks, an open alert and a hosted policy in
    testing (so that readiness reads its rollups too)."""
    for i, domain in enumerate(_domains(tenant, n)):
        _report(tenant, i, [domain])
        _check(domain, CheckKind.MTA_STS, i)
        with scopes_disabled():
            Alert.objects.create(
                tenant=tenant, domain=domain, kind=AlertKind.FAILURE_RATE,
                title=f"Alert {i}", message="Too many failures.",
            )  # fmt: skip
            HostedPolicy.objects.create(
                tenant=tenant, domain=domain, enabled=True, mode="testing",
                mx=[f"mx.d{i}.example"], max_age=86400, policy_id=f"2026120100000{i}",
            )  # fmt: skip
    alerts = [f'open_alerts{{domain="d{i}.example",kind="failure_rate"}} 1.0' for i in range(n)]
    return "/api/v1/metrics", alerts + RESULT_TYPES[:n]


def _webhook(tenant: Tenant, i: int) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        tenant=tenant,
        url=f"https://hooks.example/{i}",
        events=["alert.opened"],
        secret_encrypted=secret_encrypt("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    )


def webhooks(tenant: Tenant, n: int) -> Built:
    for i in range(n):
        _webhook(tenant, i)
    return tenant_page("webhook_list"), [f"https://hooks.example/{i}" for i in range(n)]


def webhook_log(tenant: Tenant, n: int) -> Built:
    """One endpoint with n deliveries, each with its own answer."""
    endpoint = _webhook(tenant, 0)
    for i in range(n):
        WebhookDelivery.objects.create(
            tenant=tenant, endpoint=endpoint, event_type="alert.opened", message_id=f"msg_{i}",
            payload={}, status="failed", attempts=7, response_status=500,
            response_body=f"Answer {i}",
        )  # fmt: skip
    return tenant_page("webhook_detail", pk=endpoint.pk), [f"Answer {i}" for i in range(n)]


@dataclass(frozen=True)
class Route:
    build: Callable[[Tenant, int], Built]
    queries: int  # at most, on PostgreSQL and SQLite alike


def _domain_reports_path(domain: Domain) -> str:
    return tenant_page("report_list") + f"?domain={domain.pk}"


ROUTES = {
    # Pages, read by the owner.
    "overview": Route(overview, 12),
    "domain_list": Route(domain_list, 5),
    "domain_detail": Route(domain_checks("domain_detail"), 7),
    "domain_health": Route(domain_checks("domain_health"), 6),
    # The dashboard reads its MTA-STS policy versions (the chart's markers) in one query;
    # with failures, three more explain them: the period's failure rows, the latest probe
    # and MTA-STS check, and the organizations whose sessions all succeeded each day.
    # The MX heatmap and the reporter grid read one rollup query each (by bucket).
    "domain_dashboard": Route(dashboard, 23),
    # The reports page and API list read their page's counted sessions in one query.
    "report_list": Route(reports(lambda d: tenant_page("report_list")), 8),
    "report_list_of_a_domain": Route(reports(_domain_reports_path), 9),
    # The report page sums its failure details by type in the database, then reads one
    # page of them (never all: a report can hold 100,000).
    "report_detail": Route(report_policies(lambda r: tenant_page("report_detail", pk=r.pk)), 8),
    "export_failures": Route(reports(lambda d: tenant_page("export_csv", what="failures")), 5),
    "export_daily": Route(reports(lambda d: tenant_page("export_csv", what="daily")), 5),
    "inbound_log": Route(inbound(tenant_page("inbound_log")), 7),
    "upload_results": Route(uploaded, 5),
    "mailbox_list": Route(mailboxes, 5),
    "members": Route(members(tenant_page("members")), 6),
    "api_keys": Route(api_keys, 5),
    "audit_log": Route(audit_log, 6),
    "webhook_list": Route(webhooks, 5),
    "webhook_log": Route(webhook_log, 6),
    # The API, read with a key.
    "api_tenant": Route(members("/api/v1/tenant"), 3),
    "api_domains": Route(domains_api, 4),
    "api_reports": Route(reports(lambda d: "/api/v1/reports"), 4),
    "api_report": Route(report_policies(lambda r: f"/api/v1/reports/{r.pk}"), 5),
    "api_failures": Route(reports(lambda d: "/api/v1/failures"), 3),
    "api_inbound": Route(inbound("/api/v1/inbound"), 4),
    "api_stats_daily": Route(stats_daily, 4),
    **{
        f"api_breakdown_{by}": Route(breakdown(by), 4)
        for by in ("result_type", "receiving_mx", "organization", "sending_ip")
    },
    # The key and its tenant, the domains, then one query per metric family (the five of
    # the daily stats share one; readiness reads hosted modes, blocking failures, coverage).
    "api_metrics": Route(metrics, 12),  # sessions and failures: older days, then recent
}


def client_for(tenant: Tenant, path: str) -> Client:
    if path.startswith("/api/"):
        # Used a moment ago: a key's first use in a minute adds one UPDATE of last_used_at.
        secret = ApiKey.objects.create_key(
            tenant=tenant, name="reader", last_used_at=timezone.now()
        )[1]
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client = fresh_client()
    login(client, owner_of(tenant))
    return client


@pytest.mark.parametrize("name", ROUTES)
def test_queries_do_not_grow_with_the_list(name: str, django_assert_max_num_queries) -> None:
    route = ROUTES[name]
    counts = []
    for n in (2, 8):
        tenant = make_tenant(f"t{n}")
        path, shown = route.build(tenant, n)
        path = path.replace("/t/SLUG/", f"/t/{tenant.slug}/")
        client = client_for(tenant, path)
        with django_assert_max_num_queries(route.queries) as captured:
            response = client.get(path)
            body = response.getvalue()  # a streamed export's rows are read here
        assert response.status_code == 200, body[:500]
        missing = [s for s in shown if s not in body.decode()]
        assert not missing, f"{path} with {n} does not show {missing}"
        counts.append(len(captured))
    assert counts[1] <= counts[0], f"{name}: {counts[0]} queries for 2, {counts[1]} for 8"
