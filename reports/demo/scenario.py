"""What happened to each demo domain, day by day: the sessions each reporter saw.

Days are counted back from ``today`` so the story always ends yesterday:

* ``example.com``, healthy throughout (the busiest; the corpus's real reports too);
* ``example.org``, whose mx2 broke ``MX2_BROKE_DAYS_AGO`` days ago: STARTTLS switched off
  for three days, then back with an expired certificate, still so today;
* ``example.net``, whose MTA-STS policy could not be fetched for a week
  (``STS_OUTAGE_DAYS_AGO``), otherwise fine but for a rare validation failure;
* ``shop.example.com``, verified two days ago, no reports yet;
* ``newsletter.example.net``, added but not verified.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from reports.demo.reporters import Reporter, Sessions

DAYS = 183  # about six months of daily reports
MX2_BROKE_DAYS_AGO = 14
STARTTLS_OFF_DAYS = 3
STS_OUTAGE_DAYS_AGO = 45
STS_OUTAGE_DAYS = 7
RECEIVING_IPS = {"mx1": "203.0.113.10", "mx2": "203.0.113.25"}


@dataclass(frozen=True)
class DemoDomain:
    name: str
    verified: bool = True
    daily_sessions: int = 0  # 0: no reports
    added_days_ago: int = DAYS + 30


DOMAINS = (
    DemoDomain("example.com", daily_sessions=2400),
    DemoDomain("example.org", daily_sessions=900),
    DemoDomain("example.net", daily_sessions=260),
    DemoDomain("shop.example.com", added_days_ago=2),
    DemoDomain("newsletter.example.net", verified=False, added_days_ago=1),
)


def mx_of(domain: str) -> list[str]:
    return [f"mx1.{domain}", f"mx2.{domain}"]


def report_days(today: date, days: int = DAYS) -> list[date]:
    return [today - timedelta(days=n) for n in range(days, 0, -1)]


def reports_today(reporter: Reporter, day: date, today: date, rng: random.Random) -> bool:
    """Whether ``reporter`` sent a report for ``day`` at all."""
    if reporter.silent_for_days and (today - day).days <= reporter.silent_for_days:
        return False
    return rng.random() < reporter.reports_on


def sessions_for(
    domain: DemoDomain, reporter: Reporter, day: date, today: date, rng: random.Random
) -> Sessions:
    """The reporter's sessions with ``domain`` on ``day``: traffic with a weekly rhythm
    and noise, split over the two MX hosts, with the domain's failures of that day."""
    weekly = 0.55 if day.weekday() >= 5 else 1.0
    total = max(1, round(domain.daily_sessions * reporter.share * weekly * rng.uniform(0.8, 1.2)))
    mx2 = round(total * rng.uniform(0.35, 0.45))
    ago = (today - day).days
    if domain.name == "example.org" and ago <= MX2_BROKE_DAYS_AGO:
        return Sessions(total - mx2, [_mx2_failure(domain.name, reporter, ago, mx2, rng)])
    if domain.name == "example.net":
        if STS_OUTAGE_DAYS_AGO - STS_OUTAGE_DAYS < ago <= STS_OUTAGE_DAYS_AGO:
            failed = round(total * rng.uniform(0.25, 0.4))
            return Sessions(total - failed, [_fetch_error(reporter, failed)])
        if reporter.key == "google" and rng.random() < 0.08:
            return Sessions(total - 1, [_validation_failure(domain.name, reporter, rng)])
    return Sessions(total, [])


def _mx2_failure(
    domain: str, reporter: Reporter, ago: int, count: int, rng: random.Random
) -> dict[str, Any]:
    starttls_off = ago > MX2_BROKE_DAYS_AGO - STARTTLS_OFF_DAYS
    detail: dict[str, Any] = {
        "result-type": "starttls-not-supported" if starttls_off else "certificate-expired",
        "sending-mta-ip": rng.choice(reporter.sending_ips),
        "receiving-mx-hostname": f"mx2.{domain}",
        "receiving-ip": RECEIVING_IPS["mx2"],
        "failed-session-count": max(1, count),
    }
    if reporter.key == "microsoft":
        detail["receiving-mx-helo"] = f"mx2.{domain}"
    if reporter.key == "postfix":
        detail["failure-reason-code"] = (
            "STARTTLS not offered" if starttls_off else "certificate has expired"
        )
    return detail


def _fetch_error(reporter: Reporter, count: int) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "result-type": "sts-policy-fetch-error",
        "failed-session-count": max(1, count),
    }
    if reporter.key in ("mailru", "postfix"):
        detail["failure-reason-code"] = "certificate verify failed: certificate has expired"
    return detail


def _validation_failure(domain: str, reporter: Reporter, rng: random.Random) -> dict[str, Any]:
    return {
        "result-type": "validation-failure",
        "sending-mta-ip": rng.choice(reporter.sending_ips),
        "receiving-mx-hostname": f"mx1.{domain}",
        "receiving-ip": RECEIVING_IPS["mx1"],
        "failed-session-count": 1,
    }
