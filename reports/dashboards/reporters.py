"""Who reports on a tenant's domains: the sending organizations, read from the rollups and
the report key. Callers are inside the tenant's scope.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import Max, Sum

from domains.models import Domain
from reports.dashboards.periods import Period
from reports.dashboards.selectors import Totals, totals_of
from reports.models import DailyStat, Report

_REPORTS = Report._meta.db_table


@dataclass
class OrganizationRow:
    organization: str
    totals: Totals
    last_day: date
    silent: bool


def organizations(domain: Domain, period: Period, silent_after: int = 3) -> list[OrganizationRow]:
    """Who reports on the domain; silent: reported before but not in the last few days."""
    rows = (
        DailyStat.objects.filter(domain=domain, day__lte=period.end)
        .values("organization")
        .annotate(
            s=Sum("counted_successful", filter=period.q()),
            f=Sum("counted_failed", filter=period.q()),
            last=Max("day"),
        )
        .order_by("organization")
    )
    cutoff = period.end - timedelta(days=silent_after)
    result = [
        OrganizationRow(r["organization"], totals_of(r), r["last"], r["last"] < cutoff)
        for r in rows
        if r["last"] >= period.previous().start
    ]
    return sorted(result, key=lambda r: (-r.totals.sessions, r.organization))


def last_report_day(domain: Domain) -> date | None:
    """The newest report day of the domain, from the rollups (kept when reports are not).

    An index lookup: the rollup's unique key starts with (domain, day).
    """
    return (
        DailyStat.objects.filter(domain=domain)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )


def organization_names(tenant_id: int) -> list[str]:
    """Every sending organization of the tenant, by a loose index scan.

    One index probe per organization on the report key (tenant, organization, ...),
    instead of reading every report. Written with MIN() rather than a parenthesised
    ``ORDER BY ... LIMIT 1`` so that SQLite runs it too; both databases answer each MIN
    from the index.
    """
    sql = f"""
        WITH RECURSIVE orgs(name) AS (
            SELECT MIN(organization) FROM {_REPORTS} WHERE tenant_id = %s
            UNION ALL
            SELECT (SELECT MIN(r.organization) FROM {_REPORTS} r
                    WHERE r.tenant_id = %s AND r.organization > orgs.name)
            FROM orgs WHERE orgs.name IS NOT NULL
        )
        SELECT name FROM orgs WHERE name IS NOT NULL
    """  # noqa: S608 -- the table name is the model's
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant_id, tenant_id])
        return [name for (name,) in cursor.fetchall()]
