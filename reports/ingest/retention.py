"""Retention: what the daily purge deletes, and when.

* Inbound messages (the raw bytes as they arrived), ``INBOUND_RETENTION_DAYS`` after they
  arrived, once they have an outcome: a stored report keeps its own JSON. Messages still
  waiting are never deleted. The record of mail a door refused over a limit
  (``InboundRefusal``, a row per tenant, day, door and limit) and the self-tests a tenant
  ran (``SelfTest``) go after as long.
* Reports, with their policies and failure details, ``REPORT_RETENTION_DAYS`` after the
  day they count for. The daily rollups stay, so dashboards, digests and the API's daily
  figures for older days do not change. On PostgreSQL, reports, policies and failure
  details are partitioned by month (``reports.ingest.partitions``): the months entirely
  past the cut-off are detached and dropped whole first, and rows are deleted only in the
  month the cut-off falls in (and the default partition).
* DNS checks, ``DNS_CHECK_RETENTION_DAYS`` after they ran, except the runs whose result
  changed (the dashboard's markers) and each domain's latest run and latest definitive
  run of each kind (its state).

0 keeps rows for ever. Rows go in chunks, each in a transaction of its own, so a large
purge holds no lock for long; it stops after ``seconds`` and says whether more is left.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from time import monotonic

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.tenancy import across_tenants
from domains.models import CheckStatus, DnsCheck
from reports.ingest.partitions import partitions_drop_before
from reports.models import (
    FailureDetail,
    InboundMessage,
    InboundRefusal,
    PolicyResult,
    Report,
    Status,
)
from reports.selftest.models import SelfTest

CHUNK = 2000


@dataclass(slots=True)
class Purged:
    inbound: int = 0
    refusals: int = 0
    self_tests: int = 0
    reports: int = 0
    dns_checks: int = 0
    partitions: int = 0  # month partitions dropped whole (PostgreSQL)
    more: bool = False


def purge_expired(*, seconds: float = 120.0, now: datetime | None = None) -> Purged:
    """Delete what is past its retention, oldest first, for at most about ``seconds``."""
    now = now or timezone.now()
    deadline = monotonic() + seconds
    purged = Purged()
    report_cutoff = _cutoff(settings.REPORT_RETENTION_DAYS, now)
    busy = False
    if report_cutoff is not None:
        dropped = partitions_drop_before(report_cutoff.date())
        purged.partitions = len(dropped.dropped)
        # A month still locked is tried again by the next run, not deleted row by row.
        busy = purged.more = bool(dropped.busy)
    with across_tenants("retention purge: deletes every tenant's expired rows"):
        for name, expired, delete in (
            ("inbound", _expired_inbound(now), _inbound_delete),
            ("refusals", _expired_refusals(now), _refusals_delete),
            ("self_tests", _expired_self_tests(now), _self_tests_delete),
            (
                "reports",
                None if busy else _expired_reports(now),
                partial(_reports_delete, before=report_cutoff.date() if report_cutoff else None),
            ),
            ("dns_checks", _expired_checks(now), _checks_delete),
        ):
            if expired is None:
                continue
            while True:
                if monotonic() > deadline:
                    purged.more = True
                    return purged
                ids = list(expired.order_by("pk").values_list("pk", flat=True)[:CHUNK])
                if not ids:
                    break
                with transaction.atomic():
                    delete(ids)
                setattr(purged, name, getattr(purged, name) + len(ids))
    return purged


def _cutoff(days: int, now: datetime) -> datetime | None:
    return now - timedelta(days=days) if days > 0 else None


def _expired_inbound(now: datetime) -> QuerySet | None:
    cutoff = _cutoff(settings.INBOUND_RETENTION_DAYS, now)
    if cutoff is None:
        return None
    return InboundMessage.objects.filter(received_at__lt=cutoff).exclude(status=Status.RECEIVED)


def _inbound_delete(ids: list[int]) -> None:
    Report.objects.filter(inbound_id__in=ids).update(inbound=None)
    InboundMessage.objects.filter(pk__in=ids).delete()


def _expired_refusals(now: datetime) -> QuerySet | None:
    cutoff = _cutoff(settings.INBOUND_RETENTION_DAYS, now)
    return None if cutoff is None else InboundRefusal.objects.filter(day__lt=cutoff.date())


def _refusals_delete(ids: list[int]) -> None:
    InboundRefusal.objects.filter(pk__in=ids).delete()


def _expired_self_tests(now: datetime) -> QuerySet | None:
    cutoff = _cutoff(settings.INBOUND_RETENTION_DAYS, now)
    return None if cutoff is None else SelfTest.objects.filter(started_at__lt=cutoff)


def _self_tests_delete(ids: list[int]) -> None:
    SelfTest.objects.filter(pk__in=ids).delete()


def _expired_reports(now: datetime) -> QuerySet | None:
    cutoff = _cutoff(settings.REPORT_RETENTION_DAYS, now)
    if cutoff is None:
        return None
    return Report.objects.filter(day__lt=cutoff.date())


def _reports_delete(ids: list[int], *, before: date | None) -> None:
    # Failure details have no database constraint (reports.models): delete them first,
    # in one statement, rather than let the ORM collect them row by row. Their days and
    # their policies' are their reports', all before the cut-off: saying so confines the
    # deletes to the partitions of those days on PostgreSQL.
    days = Q(day__lt=before) if before else Q()
    policies = PolicyResult.objects.filter(days, report_id__in=ids)
    policy_ids = list(policies.values_list("pk", flat=True))
    FailureDetail.objects.filter(days, policy_id__in=policy_ids).delete()
    # One DELETE statement: their failure details are gone, nothing is left to collect.
    policies._raw_delete(policies.db)
    # The reports too, with what points at them done by hand: their policies are all gone
    # above (a policy's day is its report's), and the messages that repeated them forget
    # them. Django's collector would look for policies in every month's partition and
    # read every report's row first (a month of 424,657 reports at 100 M: 71 s).
    InboundMessage.objects.filter(duplicate_of_id__in=ids).update(duplicate_of=None)
    reports = Report.objects.filter(days, pk__in=ids)
    reports._raw_delete(reports.db)


def _expired_checks(now: datetime) -> QuerySet | None:
    cutoff = _cutoff(settings.DNS_CHECK_RETENTION_DAYS, now)
    if cutoff is None:
        return None
    newer = DnsCheck.objects.filter(
        domain=OuterRef("domain"), kind=OuterRef("kind"), checked_at__gt=OuterRef("checked_at")
    )
    # Kept: the latest run of each kind, and the latest definitive one (the state).
    superseded = Q(Exists(newer.exclude(status=CheckStatus.UNKNOWN)))
    superseded |= Q(Exists(newer), status=CheckStatus.UNKNOWN)
    return DnsCheck.objects.filter(superseded, checked_at__lt=cutoff, changed=False)


def _checks_delete(ids: list[int]) -> None:
    DnsCheck.objects.filter(pk__in=ids).delete()
