"""What the doors refused because a limit was reached, so the tenant can see it.

A door that refuses mail for a known tenant calls ``refusal_record``: one row per tenant,
UTC day, door and limit, counted up (``InboundRefusal``), so a flood of refusals costs an
UPDATE each and never a new row; the SMTP door records a refusal at RCPT once per
connection, tenant and limit, so a client repeating the command is not a write each time
(a real sender gives up on the recipient at the first 4xx). ``refusals_recent`` reads
them back for the ingest log and the overview, inside the tenant's scope.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django_scopes import scope

from reports.inbound.models import Channel, InboundRefusal, Limit

# The overview warns about refusals this many days back (today included).
RECENT_DAYS = 7


def refusal_record(
    *, tenant_id: int, channel: Channel, limit: Limit, size: int = 0, sender: str = ""
) -> None:
    """Count one refusal of ``size`` bytes (0: not known) for the tenant, today (UTC)."""
    now = timezone.now()
    key = {"tenant_id": tenant_id, "day": now.date(), "channel": channel, "limit": limit}
    change = {"count": F("count") + 1, "size": F("size") + size, "last_at": now}
    change["last_sender"] = sender[:45]
    with scope(tenant=tenant_id), transaction.atomic():
        if InboundRefusal.objects.filter(**key).update(**change):
            return
        try:
            with transaction.atomic():
                InboundRefusal.objects.create(
                    **key, count=1, size=size, first_at=now, last_at=now, last_sender=sender[:45]
                )
        except IntegrityError:  # another process made today's row a moment ago
            InboundRefusal.objects.filter(**key).update(**change)


@dataclass(frozen=True)
class RefusalLine:
    """Refusals of one door and limit over the recent days."""

    channel: str
    limit: str
    count: int
    today: int
    size: int
    last_at: datetime
    last_sender: str

    @property
    def door(self) -> str:
        return Channel(self.channel).label

    @property
    def reason(self) -> str:
        return _reason(self.limit)


def _reason(limit: str) -> str:
    """Which limit, its value and the setting that holds it, for the tenant to pass on."""
    s = settings
    reasons: dict[str, str] = {
        Limit.DAILY_MESSAGES: f"your daily message quota ({s.INBOUND_TENANT_DAILY_MESSAGES} "
        "a day, setting INBOUND_TENANT_DAILY_MESSAGES) was used up",
        Limit.DAILY_BYTES: f"your daily quota of bytes "
        f"({filesizeformat(s.INBOUND_TENANT_DAILY_BYTES)} a day, setting "
        "INBOUND_TENANT_DAILY_BYTES) was used up",
        Limit.SENDER_RATE: f"a sending server passed {s.INBOUND_SMTP_MESSAGES_PER_HOUR} "
        "messages an hour (setting INBOUND_SMTP_MESSAGES_PER_HOUR)",
        Limit.RECIPIENTS: f"a message had more than {s.INBOUND_SMTP_MAX_RECIPIENTS} "
        "recipients (setting INBOUND_SMTP_MAX_RECIPIENTS)",
        Limit.HTTPS_RATE: f"more than {s.TLSRPT_HTTPS_RATE_PER_MINUTE} reports a minute came "
        "to your report URL (setting TLSRPT_HTTPS_RATE_PER_MINUTE)",
    }
    return reasons.get(limit, limit)


def refusals_recent(*, days: int = RECENT_DAYS, today: date | None = None) -> list[RefusalLine]:
    """The refusals of the last ``days`` UTC days, one line per door and limit, most
    refused first. Inside the tenant's scope; at most days x doors x limits rows."""
    today = today or timezone.now().date()
    rows = InboundRefusal.objects.filter(day__gt=today - timedelta(days=days)).order_by("last_at")
    lines: dict[tuple[str, str], dict] = {}
    for row in rows:
        line = lines.setdefault((row.channel, row.limit), {"count": 0, "today": 0, "size": 0})
        line["count"] += row.count
        line["today"] += row.count if row.day == today else 0
        line["size"] += row.size
        line["last_at"], line["last_sender"] = row.last_at, row.last_sender
    found = [RefusalLine(channel=c, limit=lim, **v) for (c, lim), v in lines.items()]
    return sorted(found, key=lambda line: -line.count)
