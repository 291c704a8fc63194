"""Limits on what strangers can make us store, for the doors anyone can reach: SMTP and
the HTTPS report URL. IMAP (the tenant's own mailbox) and upload (its members) are not
counted: the tenant itself stands behind what comes through those.

- Per tenant and UTC day, across both doors: messages and bytes stored
  (``INBOUND_TENANT_DAILY_MESSAGES``, ``INBOUND_TENANT_DAILY_BYTES``). A door reserves
  before it stores (``quota_reserve``: both counters go up at once, and the reservation is
  given back when either passes its limit) and gives the reservation back when it cannot
  store (``quota_release``), so only stored mail counts.
- Per SMTP client address: connections a minute and messages an hour
  (``INBOUND_SMTP_CONNECTIONS_PER_MINUTE``, ``INBOUND_SMTP_MESSAGES_PER_HOUR``); an IPv6
  client counts by its /64, the block one host is usually given.

Counters are fixed windows in the cache (``tlsrpt_saas.ratelimit``): Redis in production,
shared by every process and counted atomically there. If Redis cannot be reached the
limits are not applied, with a warning: the doors store mail without Redis, and a lost
report is worse than a day without a limit. A limit of 0 is no limit.
"""

import ipaddress
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from redis.exceptions import RedisError

from reports.inbound.models import Limit
from tlsrpt_saas.ratelimit import window_add, window_count, window_hit

logger = logging.getLogger(__name__)

DAY = 24 * 3600
_MESSAGES, _BYTES = "inbound-day-messages", "inbound-day-bytes"


@dataclass(frozen=True)
class Reservation:
    """A message's share of its tenant's day, held until stored or given back."""

    tenant_id: int
    size: int
    at: int  # Unix time it was made: its day's counters hold it
    counted: bool = True  # False when the counters could not be reached


def seconds_to_midnight() -> int:
    """Until the daily quotas start again (UTC midnight), for Retry-After."""
    return DAY - int(time.time()) % DAY


def _over(count: int, limit: int) -> bool:
    return bool(limit) and count > limit


def quota_full(*, tenant_id: int) -> bool:
    """Whether the tenant has no message left today: a cheap look before the message comes;
    the reservation decides."""
    limit = settings.INBOUND_TENANT_DAILY_MESSAGES
    try:
        return bool(limit) and window_count(_MESSAGES, tenant_id, DAY) >= limit
    except RedisError:
        logger.warning("Quota counters unreachable; tenant %s not limited", tenant_id)
        return False


def quota_reserve(*, tenant_id: int, size: int) -> Reservation | Limit:
    """Reserve one message of ``size`` bytes of the tenant's day, or the limit it would pass
    (then nothing stays reserved)."""
    at = int(time.time())
    try:
        messages, _ = window_add(_MESSAGES, tenant_id, DAY, 1, at=at)
        stored, _ = window_add(_BYTES, tenant_id, DAY, size, at=at)
    except RedisError:
        logger.warning("Quota counters unreachable; tenant %s not limited", tenant_id)
        return Reservation(tenant_id, size, at, counted=False)
    reservation = Reservation(tenant_id, size, at)
    if _over(messages, settings.INBOUND_TENANT_DAILY_MESSAGES):
        quota_release(reservation)
        return Limit.DAILY_MESSAGES
    if _over(stored, settings.INBOUND_TENANT_DAILY_BYTES):
        quota_release(reservation)
        return Limit.DAILY_BYTES
    return reservation


def quota_release(reservation: Reservation) -> None:
    """Give a reservation back to the day that holds it (the message was not stored)."""
    if not reservation.counted:
        return
    try:
        window_add(_MESSAGES, reservation.tenant_id, DAY, -1, at=reservation.at)
        window_add(_BYTES, reservation.tenant_id, DAY, -reservation.size, at=reservation.at)
    except RedisError:
        logger.warning("Could not give back tenant %s's reservation", reservation.tenant_id)


def client_key(address: str) -> str:
    """Who a client address counts as: the address, or for IPv6 its /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _rate_ok(name: str, address: str, seconds: int, limit: int) -> bool:
    if not limit:
        return True
    try:
        count, _ = window_hit(name, client_key(address), seconds)
    except RedisError:
        logger.warning("Rate counters unreachable; %s not limited", address)
        return True
    return count <= limit


def connection_allowed(address: str) -> bool:
    """Count a new SMTP connection from ``address``; False past its rate."""
    limit = settings.INBOUND_SMTP_CONNECTIONS_PER_MINUTE
    return _rate_ok("smtp-connections", address, 60, limit)


def message_allowed(address: str) -> bool:
    """Count a message from ``address`` (a transaction with a tenant's recipient); False
    past its rate."""
    return _rate_ok("smtp-messages", address, 3600, settings.INBOUND_SMTP_MESSAGES_PER_HOUR)
