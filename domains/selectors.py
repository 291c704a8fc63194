"""Reads of a tenant's domains and their health: the current result of each DNS check, and
its changes.

Callers are inside the tenant's scope.
"""

from datetime import date, datetime

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from domains.findings import Finding
from domains.models import CheckKind, CheckStatus, DnsCheck, Domain

KIND_ORDER = [CheckKind.TLSRPT, CheckKind.MTA_STS, CheckKind.MX, CheckKind.DANE, CheckKind.MX_TLS]


def domains_by_name() -> QuerySet[Domain]:
    return Domain.objects.order_by("name")


def _definitive() -> QuerySet[DnsCheck]:
    return DnsCheck.objects.exclude(status=CheckStatus.UNKNOWN)


def latest_checks(domains: list[Domain]) -> dict[int, dict[str, DnsCheck]]:
    """For each domain id, its latest definitive check of each kind (kinds never run absent)."""
    ids = [d.pk for d in domains]
    # A window rather than PostgreSQL's DISTINCT ON, so SQLite (make run) answers too;
    # both walk the (domain, kind, -checked_at) index.
    newest_first = Window(
        RowNumber(),
        partition_by=[F("domain_id"), F("kind")],
        order_by=[F("checked_at").desc(), F("pk").desc()],
    )
    rows = _definitive().filter(domain_id__in=ids).annotate(rank=newest_first).filter(rank=1)
    latest: dict[int, dict[str, DnsCheck]] = {pk: {} for pk in ids}
    for check in rows:
        latest[check.domain_id][check.kind] = check
    return {pk: dict(sorted(by_kind.items(), key=_kind_rank)) for pk, by_kind in latest.items()}


def _kind_rank(item: tuple[str, DnsCheck]) -> int:
    return KIND_ORDER.index(CheckKind(item[0]))


def last_attempt(domain: Domain) -> DnsCheck | None:
    """The most recent check run of any kind, definitive or not."""
    return DnsCheck.objects.filter(domain=domain).order_by("-checked_at", "-pk").first()


def problems(checks: dict[str, DnsCheck]) -> list[tuple[str, Finding]]:
    """(kind, finding) for every warning or error among a domain's current checks."""
    found = []
    for kind, check in checks.items():
        for data in check.findings:
            finding = Finding.from_dict(data)
            if finding.level in ("warning", "error"):
                found.append((kind, finding))
    return found


def changes(domain: Domain, start: date, end: datetime | date) -> list[DnsCheck]:
    """Checks whose definitive status changed in [start, end], oldest first."""
    return list(
        _definitive()
        .filter(domain=domain, changed=True, checked_at__date__gte=start, checked_at__date__lte=end)
        .order_by("checked_at")
    )
