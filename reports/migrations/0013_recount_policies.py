"""Recount the policies stored under the old rule (issue 12), and the rollups with them.

The old rule counted, per domain, only the policy type with the most sessions, so
Postfix's DANE and MTA-STS sessions (each reported once) lost the smaller side. The
rule now (``reports.batch.counted_policies``, frozen below as migrations must be) leaves
out only an ``sts`` policy whose sessions a ``tlsa`` policy of the same domain and
policy-domain repeats with identical totals (Microsoft).

The old rule only ever left policies out, so only reports with a policy left out are
read again. Each flipped policy moves its sessions into or out of the ``counted_*``
columns of its ``DailyStat`` row and its failure details' counts into or out of
``DailyFailure.counted``; the report's own totals are summed again. Rollups of reports
already purged by retention keep their figures. Plain ORM updates: SQLite and
PostgreSQL alike.
"""

from collections import defaultdict

from django.db import migrations
from django.db.models import F

CHUNK = 500


def _host(name):
    return (name or "").strip().rstrip(".").lower()


def _counted(policies):
    """``counted_policies`` of issue 12 over stored rows (dicts of PolicyResult values)."""
    totals = defaultdict(lambda: [0, 0])
    keys = []
    for p in policies:
        key = (p["domain_id"] or p["policy_domain"], _host(p["policy_domain"]))
        keys.append(key)
        row = totals[(*key, p["policy_type"])]
        row[0] += p["successful"]
        row[1] += p["failed"]
    return [
        p["policy_type"] != "sts" or totals.get((*key, "tlsa")) != totals[(*key, "sts")]
        for p, key in zip(policies, keys, strict=True)
    ]


def recount(apps, schema_editor):
    PolicyResult = apps.get_model("reports", "PolicyResult")
    uncounted = PolicyResult._base_manager.filter(counted=False)
    report_ids = sorted(set(uncounted.values_list("report_id", flat=True)))
    for start in range(0, len(report_ids), CHUNK):
        _recount_reports(apps, report_ids[start : start + CHUNK])


def _recount_reports(apps, report_ids):
    PolicyResult = apps.get_model("reports", "PolicyResult")
    Report = apps.get_model("reports", "Report")
    fields = ("id", "report_id", "domain_id", "policy_type", "policy_domain", "successful",
              "failed", "counted", "day", "report__organization")  # fmt: skip
    rows = PolicyResult._base_manager.filter(report_id__in=report_ids).order_by("id")
    by_report = defaultdict(list)
    for row in rows.values(*fields):
        by_report[row["report_id"]].append(row)
    flipped = {}
    for report_id, policies in by_report.items():
        counted = _counted(policies)
        for policy, now in zip(policies, counted, strict=True):
            if policy["counted"] != now:
                flipped[policy["id"]] = (policy, now)
        successful = sum(p["successful"] for p, c in zip(policies, counted, strict=True) if c)
        failed = sum(p["failed"] for p, c in zip(policies, counted, strict=True) if c)
        Report._base_manager.filter(pk=report_id).update(successful=successful, failed=failed)
    if not flipped:
        return
    for now in (True, False):
        ids = [pk for pk, (_, c) in flipped.items() if c is now]
        PolicyResult._base_manager.filter(pk__in=ids).update(counted=now)
    _rollups_move(apps, flipped)


def _rollups_move(apps, flipped):
    DailyStat = apps.get_model("reports", "DailyStat")
    DailyFailure = apps.get_model("reports", "DailyFailure")
    FailureDetail = apps.get_model("reports", "FailureDetail")
    stats = defaultdict(lambda: [0, 0])
    for policy, now in flipped.values():
        if policy["domain_id"]:
            sign = 1 if now else -1
            key = (policy["domain_id"], policy["day"], policy["report__organization"],
                   policy["policy_type"])  # fmt: skip
            stats[key][0] += sign * policy["successful"]
            stats[key][1] += sign * policy["failed"]
    failures = defaultdict(int)
    details = FailureDetail._base_manager.filter(policy_id__in=list(flipped)).values_list(
        "policy_id", "result_type", "receiving_mx_hostname", "failed_session_count"
    )
    for policy_id, result_type, mx, count in details:
        policy, now = flipped[policy_id]
        if policy["domain_id"]:
            key = (policy["domain_id"], policy["day"], policy["policy_type"], result_type,
                   mx[:253], policy["report__organization"])  # fmt: skip
            failures[key] += count if now else -count
    for (domain, day, organization, policy_type), (successful, failed) in sorted(stats.items()):
        DailyStat._base_manager.filter(
            domain_id=domain, day=day, organization=organization, policy_type=policy_type
        ).update(
            counted_successful=F("counted_successful") + successful,
            counted_failed=F("counted_failed") + failed,
        )
    for (domain, day, policy_type, result_type, mx, organization), count in sorted(
        failures.items()
    ):
        DailyFailure._base_manager.filter(
            domain_id=domain, day=day, policy_type=policy_type, result_type=result_type,
            receiving_mx=mx, organization=organization,
        ).update(counted=F("counted") + count)  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0012_helo_verbatim_duplicate_of"),
    ]

    operations = [
        migrations.RunPython(recount, migrations.RunPython.noop),
    ]
