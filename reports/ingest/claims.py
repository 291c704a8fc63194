"""Claiming waiting inbound messages for processing, one or a batch at a time.

A claim counts an attempt (committed at once, so a message that kills its worker is
found out after ``MAX_ATTEMPTS``) and marks who holds it: on PostgreSQL the claiming
connection's backend pid. A message is claimable while it is waiting and nobody holds it:
no holder, the holder is this connection, the holder's connection is gone (its worker was
killed), or the claim is older than the task time limit. Processing then takes the rows'
locks in its own transaction, so two workers never process the same message at once, and
a killed worker's messages are free again as soon as its connection is.

Batches take only fresh messages (no attempt yet). A message that was claimed before and
is still waiting was interrupted: it is claimed alone, so one poison message can neither
take a batch down with it nor use up its neighbours' attempts.

Claiming is the one cross-tenant step of processing: it takes waiting messages of any
tenant (``across_tenants``) and says whose each one is. Everything after it (locking,
storing, releasing) runs in the scope of the claimed messages' tenants.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.tenancy import across_tenants
from reports.models import InboundMessage, Status

_TABLE = InboundMessage._meta.db_table


@dataclass(slots=True)
class Claim:
    message_id: int
    tenant_id: int
    attempts: int
    raw: bytes
    filename: str


def _relax_durability() -> None:
    """Let this transaction's commit return before its WAL reaches the disk.

    Safe for processing only: the raw message was committed durably when it arrived,
    and processing is idempotent, so a database crash that loses the last few hundred
    milliseconds of processing just leaves messages waiting, and they are run again.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


@contextmanager
def processing_transaction() -> Iterator[None]:
    """A transaction for claiming or storing (see ``_relax_durability``)."""
    with transaction.atomic():
        _relax_durability()
        yield


def _expired() -> timedelta:
    """A claim older than a task may run is void whoever holds it."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


# Which waiting messages a claim takes, in SQL (PostgreSQL) and as a filter (others).
_FRESH, _INTERRUPTED, _ONE = "attempts = 0", "attempts > 0", "id = %(id)s"

# PostgreSQL: who holds a claim is a backend pid; it is void once that backend is gone.
_PICK_PG = f"""
SELECT id, size FROM {_TABLE}
WHERE status = %(received)s AND {{which}} AND (
    claimed_by IS NULL OR claimed_by = pg_backend_pid() OR claimed_at < %(expired)s
    OR claimed_by NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL))
ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
"""  # noqa: S608 -- the table name comes from the model
_TAKE_PG = f"""
UPDATE {_TABLE} SET attempts = attempts + 1, claimed_by = pg_backend_pid(), claimed_at = now()
WHERE id = ANY(%(ids)s)
RETURNING id, tenant_id, attempts, raw, filename
"""  # noqa: S608 -- the table name comes from the model


def claim_batch(*, limit: int, max_bytes: int) -> tuple[list[Claim], bool]:
    """Claim up to ``limit`` fresh waiting messages, oldest first, within ``max_bytes``.

    The first message is claimed whatever its size: a batch is never empty while
    fresh messages wait. Also says whether more may be waiting (the batch is full).
    """
    return _claim(_FRESH, limit, max_bytes)


def claim_interrupted() -> Claim | None:
    """Claim one waiting message whose earlier attempt did not finish, oldest first."""
    return next(iter(_claim(_INTERRUPTED, 1, 0)[0]), None)


def claim_one(message_id: int) -> Claim | None:
    """Claim one given message, if it is waiting and nobody else holds it."""
    return next(iter(_claim(_ONE, 1, 0, message_id)[0]), None)


def _claim(which: str, limit: int, max_bytes: int, message_id: int = 0) -> tuple[list[Claim], bool]:
    """The claims, and whether more messages may be waiting (``limit`` or bytes reached)."""
    with (
        across_tenants("claims: a drain takes the waiting messages of every tenant"),
        processing_transaction(),
    ):
        if connection.vendor == "postgresql":
            picked, rows = _claim_pg(which, limit, max_bytes, message_id)
        else:
            picked, rows = _claim_other(which, limit, max_bytes, message_id)
    claims = [Claim(i, t, a, bytes(r), f or "") for i, t, a, r, f in sorted(rows)]
    return claims, picked == limit or len(rows) < picked


def _within(picked: list[tuple[int, int]], max_bytes: int) -> list[int]:
    """The ids of the longest prefix of (id, size) pairs within ``max_bytes`` (at least one)."""
    ids: list[int] = []
    total = 0
    for message_id, size in picked:
        total += size
        if ids and total > max_bytes:
            break
        ids.append(message_id)
    return ids


def _claim_pg(which: str, limit: int, max_bytes: int, message_id: int) -> tuple[int, list]:
    params: dict[str, str | int | datetime] = {
        "received": Status.RECEIVED,
        "expired": timezone.now() - _expired(),
        "limit": limit,
        "id": message_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(_PICK_PG.format(which=which), params)
        picked = cursor.fetchall()
        ids = _within(picked, max_bytes)
        if not ids:
            return 0, []
        cursor.execute(_TAKE_PG, {"ids": ids})
        return len(picked), cursor.fetchall()


def _claim_other(which: str, limit: int, max_bytes: int, message_id: int) -> tuple[int, list]:
    """SQLite (the no-configuration default) writes one at a time; this process holds."""
    holder = os.getpid()
    free = Q(claimed_by__isnull=True) | Q(claimed_by=holder)
    free |= Q(claimed_at__lt=timezone.now() - _expired())
    kind = {_FRESH: Q(attempts=0), _INTERRUPTED: Q(attempts__gt=0), _ONE: Q(pk=message_id)}
    waiting = InboundMessage.objects.filter(kind[which], free, status=Status.RECEIVED)
    picked = list(waiting.order_by("pk").values_list("pk", "size")[:limit])
    claimed = InboundMessage.objects.filter(pk__in=_within(picked, max_bytes))
    claimed.update(attempts=F("attempts") + 1, claimed_by=holder, claimed_at=timezone.now())
    return len(picked), list(claimed.values_list("pk", "tenant_id", "attempts", "raw", "filename"))


def messages_waiting() -> bool:
    """Whether messages of any tenant still wait (when no claim found one: others hold them)."""
    with across_tenants("claims: do messages of any tenant wait, held by other workers"):
        return InboundMessage.objects.filter(status=Status.RECEIVED).exists()


def claims_release(message_ids: list[int]) -> None:
    """Let others claim these messages again (processing stopped before their outcome);
    in the scope of their tenants, as everything after the claim."""
    InboundMessage.objects.filter(pk__in=message_ids, status=Status.RECEIVED).update(
        claimed_by=None, claimed_at=None
    )


def claims_lock(message_ids: list[int]) -> set[int]:
    """Lock the claimed messages still waiting, in id order, in the caller's transaction
    and in the scope of their tenants."""
    waiting = InboundMessage.objects.filter(pk__in=message_ids, status=Status.RECEIVED)
    return set(waiting.order_by("pk").select_for_update().values_list("pk", flat=True))
