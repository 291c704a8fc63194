"""Two months of a domain's reports, as a dashboard shows them: the tests' realistic data.

60 report days ending yesterday, from four reporters (Mail.ru goes silent ten days before
the end), three MX hosts: mx2 breaks on one day (``BREAK``, 40 % of Google's sessions fail
there), mx3 fails a little on some days, mx1 never. No one reported on two days
(``GAP_DAYS``). An MTA-STS DNS check and the live MX probe change on the break day, and
the hosted policy changes a week before the end. Reports go through the real ingest.
"""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.models import Tenant
from domains.hosting.models import ChangeSource, HostedPolicy, HostedPolicyVersion
from domains.models import CheckKind, CheckStatus, DnsCheck, Domain
from tests.factories import make_domain
from tests.reports.helpers import ingest
from tests.reports.mail import report_json

NAME = "example.net"
TODAY = timezone.now().date()
LAST = TODAY - timedelta(days=1)
FIRST = LAST - timedelta(days=59)
BREAK = LAST - timedelta(days=14)  # mx2's bad day
GAP_DAYS = (LAST - timedelta(days=30), LAST - timedelta(days=29))  # nobody reported
SILENT_AFTER = LAST - timedelta(days=10)  # Mail.ru's last report day
POLICY_DAY = LAST - timedelta(days=7)
REPORTERS = {"Google Inc.": 1000, "Microsoft Corporation": 400, "Yahoo": 120, "Mail.ru": 60}


@dataclass(frozen=True)
class Built:
    domain: Domain
    first: date
    last: date


def _failures(organization: str, day: date, sessions: int) -> list[dict]:
    details = []
    if day == BREAK and organization in ("Google Inc.", "Microsoft Corporation"):
        details.append(("certificate-expired", f"mx2.{NAME}", sessions * 2 // 5))
    if organization == "Google Inc." and day.toordinal() % 3 == 0:
        details.append(("starttls-not-supported", f"mx3.{NAME}", 3))
    return [
        {
            "result-type": result_type,
            "sending-mta-ip": "192.0.2.10",
            "receiving-mx-hostname": mx,
            "receiving-ip": "198.51.100.7",
            "failed-session-count": n,
        }
        for result_type, mx, n in details
    ]


def report_document(organization: str, day: date, sessions: int) -> dict:
    document = report_json(domain=NAME, organization=organization, day=day.isoformat())
    details = _failures(organization, day, sessions)
    failed = sum(d["failed-session-count"] for d in details)
    policy = document["policies"][0]
    policy["summary"] = {
        "total-successful-session-count": sessions - failed,
        "total-failure-session-count": failed,
    }
    policy["failure-details"] = details
    return document


def build(tenant: Tenant) -> Built:
    domain = make_domain(tenant, NAME, mx_hosts=[f"mx{i}.{NAME}" for i in (1, 2, 3)])
    day = FIRST
    while day <= LAST:
        for organization, base in REPORTERS.items():
            if day in GAP_DAYS or (organization == "Mail.ru" and day > SILENT_AFTER):
                continue
            sessions = base + (day.toordinal() * 37) % (base // 5 + 1)  # a little noise
            ingest(tenant, json.dumps(report_document(organization, day, sessions)).encode())
        day += timedelta(days=1)
    _changes(tenant, domain)
    return Built(domain, FIRST, LAST)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(9, 30), tzinfo=UTC)


def _finding(code: str, message: str) -> dict[str, str]:
    return {"level": "error", "code": code, "message": message}


def _changes(tenant: Tenant, domain: Domain) -> None:
    expired = _finding("mx_tls_cert_expired", f"mx2.{NAME}: the certificate expired")
    no_policy = _finding("sts_policy_unreachable", "The MTA-STS policy could not be fetched")
    with scopes_disabled():
        DnsCheck.objects.create(
            tenant=tenant, domain=domain, kind=CheckKind.MTA_STS, status=CheckStatus.ERROR,
            findings=[no_policy], checked_at=_at(BREAK), changed=True, previous_status="ok",
        )  # fmt: skip
        DnsCheck.objects.create(
            tenant=tenant, domain=domain, kind=CheckKind.MX_TLS, status=CheckStatus.ERROR,
            findings=[expired], checked_at=_at(BREAK), changed=True, previous_status="ok",
        )  # fmt: skip
        hosted = HostedPolicy.objects.create(
            tenant=tenant, domain=domain, enabled=True, mode="enforce", mx=[f"*.{NAME}"],
            policy_id="20261101",
        )  # fmt: skip
        HostedPolicyVersion.objects.create(
            tenant=tenant, hosted_policy=hosted, policy_id="20261101", enabled=True,
            mode="enforce", mx=[f"*.{NAME}"], max_age=604800, txt_mode=hosted.txt_mode,
            changed_at=_at(POLICY_DAY), changed_by_email="ana@example.com",
            source=ChangeSource.MANUAL,
            summary="Mode testing → enforce",
        )  # fmt: skip
