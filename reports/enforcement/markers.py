"""Hosted MTA-STS policy changes as markers on a domain dashboard's chart, beside the DNS
changes: each version (a person's, the API's or the product's) on the chart point of its day."""

from datetime import date, datetime

from domains.hosting.models import ChangeSource, HostedPolicyVersion
from domains.models import Domain


def policy_changes(domain: Domain, start: date, end: datetime | date) -> list[HostedPolicyVersion]:
    """The domain's hosted policy versions made in [start, end], oldest first (one query)."""
    return list(
        HostedPolicyVersion.objects.filter(
            hosted_policy__domain=domain, changed_at__date__gte=start, changed_at__date__lte=end
        ).order_by("changed_at", "pk")
    )


def version_text(version: HostedPolicyVersion) -> str:
    who = {ChangeSource.AUTO: "the product", ChangeSource.API: "the API"}.get(
        ChangeSource(version.source), version.changed_by_email or "a person"
    )
    what = f"{version.mode}, max_age {version.max_age}"
    return f"MTA-STS policy {version.policy_id} ({what}) by {who}"


def policy_marks(versions: list[HostedPolicyVersion], points: list[date]) -> dict[str, list[str]]:
    """Point (its first day, ISO) -> the policy changes in it, for the chart's markers."""
    marks: dict[str, list[str]] = {}
    for version in versions:
        day = version.changed_at.date()
        point = max((p for p in points if p <= day), default=day)
        marks.setdefault(point.isoformat(), []).append(version_text(version))
    return marks
