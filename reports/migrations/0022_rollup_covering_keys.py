"""On PostgreSQL, the unique keys of ``DailyFailure`` and ``DailyBreakdown`` carry the
tenant and the sums (``INCLUDE``): a domain's rows for a period are then read from the
index alone, in key order, instead of one heap page per day (ingest writes day by day
across every domain, so a domain's two years lie on ~850 pages of each table). At 100 M
failure details the two-year dashboard's SQL fell 77-112 -> 27-36 ms on domains not read
before.

Not in Django's state: a ``UniqueConstraint`` with ``include`` is skipped on SQLite, whose
upserts need the key. The constraint keeps its name and key columns; only its index
changes. Built concurrently, then swapped in one ``ALTER TABLE``: ingest is not blocked
while the index is built.
"""

from django.db import migrations

COVERED = {
    "reports_dailyfailure": (
        "dailyfailure_unique_key",
        ["domain_id", "day", "policy_type", "result_type", "receiving_mx", "organization"],
    ),
    "reports_dailybreakdown": ("dailybreakdown_unique_key", ["domain_id", "kind", "day", "value"]),
}
INCLUDED = ["tenant_id", "count", "counted"]


def covering_keys(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, (name, key) in COVERED.items():
        schema_editor.execute(
            f'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "{name}_covering" ON "{table}" '
            f'({", ".join(key)}) INCLUDE ({", ".join(INCLUDED)})'
        )
        schema_editor.execute(
            f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}", '
            f'ADD CONSTRAINT "{name}" UNIQUE USING INDEX "{name}_covering"'
        )


def plain_keys(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, (name, key) in COVERED.items():
        schema_editor.execute(
            f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}", '
            f'ADD CONSTRAINT "{name}" UNIQUE ({", ".join(key)})'
        )


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [
        ("reports", "0021_rollup_keys_and_indexes"),
    ]

    operations = [migrations.RunPython(covering_keys, plain_keys)]
