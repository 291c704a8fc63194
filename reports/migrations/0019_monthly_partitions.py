"""Failure details carry their policy's day; on PostgreSQL, policies and failure details
become tables partitioned by month of it (``PARTITION BY RANGE (day)``).

On PostgreSQL each table is rebuilt: a partitioned table with a partition for every
month its rows fall in, the current month and three ahead, and a default partition;
the rows copied in one ``INSERT … SELECT`` (failure details take their policy's day on
the way; a detail whose policy is gone, unreachable since 0004, is left behind); the
old table dropped and the new one given its name, its primary key ``(id, day)`` (a
partitioned table's unique keys must hold the partition key: ids stay unique through
their sequence, and Django still treats ``id`` as the primary key), its indexes, as
partitioned indexes, its foreign keys and an identity sequence continuing the ids.
Backwards, the plain tables are rebuilt the same way.

On SQLite (or any other database) the tables stay plain: the column is added and
filled. Django's model state changes only by the new column.

The SQL is in ``reports.migrations._partitioning`` (shared with 0025) rather than
imported from ``reports.ingest.partitions``, so that this migration stays what it is
when that module changes.
"""

from django.db import migrations, models

from reports.migrations._partitioning import columns, quote, rebuild

TABLES = ("reports_policyresult", "reports_failuredetail")


def partition(apps, schema_editor) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(
                "UPDATE reports_failuredetail SET day = (SELECT p.day FROM reports_policyresult p "
                "WHERE p.id = reports_failuredetail.policy_id)"
            )
            cursor.execute("DELETE FROM reports_failuredetail WHERE day IS NULL")
            return
        names = ", ".join(quote(c) for c in columns(cursor, "reports_policyresult"))
        rebuild(
            cursor,
            "reports_policyresult",
            partitioned=True,
            select=f"SELECT {names} FROM reports_policyresult",  # noqa: S608
        )
        picked = ", ".join(
            "p.day" if c == "day" else f"f.{quote(c)}"
            for c in columns(cursor, "reports_failuredetail")
        )
        rebuild(
            cursor,
            "reports_failuredetail",
            partitioned=True,
            select=f"SELECT {picked} FROM reports_failuredetail f "  # noqa: S608
            "JOIN reports_policyresult p ON p.id = f.policy_id",
            months_from="reports_policyresult",  # the details' days are not filled yet
        )


def unpartition(apps, schema_editor) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in TABLES:
            names = ", ".join(quote(c) for c in columns(cursor, table))
            select = f"SELECT {names} FROM {quote(table)}"  # noqa: S608
            rebuild(cursor, table, partitioned=False, select=select)


def day_required(apps, schema_editor) -> None:
    """Off PostgreSQL, the filled column becomes NOT NULL (on PostgreSQL it already is:
    it is in the partitioned table's primary key)."""
    if schema_editor.connection.vendor == "postgresql":
        return
    model = apps.get_model("reports", "FailureDetail")
    old = model._meta.get_field("day")
    new = models.DateField()
    new.set_attributes_from_name("day")
    new.model = model
    schema_editor.alter_field(model, old, new)


def day_optional(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        return
    model = apps.get_model("reports", "FailureDetail")
    new = model._meta.get_field("day")
    old = models.DateField()
    old.set_attributes_from_name("day")
    old.model = model
    schema_editor.alter_field(model, old, new)


class Migration(migrations.Migration):
    atomic = True

    dependencies = [("reports", "0018_mx_tls_alerts")]

    operations = [
        migrations.AddField(
            model_name="failuredetail",
            name="day",
            field=models.DateField(
                null=True, help_text="Its policy's day: the partition key on PostgreSQL."
            ),
        ),
        migrations.RunPython(partition, unpartition, elidable=False),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="failuredetail",
                    name="day",
                    field=models.DateField(
                        help_text="Its policy's day: the partition key on PostgreSQL."
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(day_required, day_optional)],
        ),
    ]
