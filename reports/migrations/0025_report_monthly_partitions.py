"""On PostgreSQL, reports become a table partitioned by month of their day, as their
policies and failure details are (0019), so that the retention purge drops a month of
reports whole instead of deleting them one by one (a month at 100 M failure details,
383,561 reports: 20.6 s).

* Messages' ``duplicate_of`` loses its database constraint: a foreign key must name all
  of a partitioned table's primary key, which becomes ``(id, day)``; the purge clears
  it (reports.ingest.partitions).
* The unique key gains the day (a partitioned table's unique keys must hold its
  partition key). The day follows from the start, which the key already holds: the
  same reports are duplicates as before. Both databases, so that Django's state is one.
* The table is rebuilt with its rows, as 0019 rebuilt policies and failure details
  (``reports.migrations._partitioning``): a partition for every month its reports fall
  in, last month, this month and three ahead, and a default partition. Backwards, a
  plain table again. SQLite keeps a plain table.
"""

from django.db import migrations, models

from reports.migrations._partitioning import columns, quote, rebuild

TABLE = "reports_report"


def _rebuild(schema_editor, *, partitioned: bool) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        names = ", ".join(quote(c) for c in columns(cursor, TABLE))
        select = f"SELECT {names} FROM {TABLE}"  # noqa: S608
        rebuild(cursor, TABLE, partitioned=partitioned, select=select)


def partition(apps, schema_editor) -> None:
    _rebuild(schema_editor, partitioned=True)


def unpartition(apps, schema_editor) -> None:
    _rebuild(schema_editor, partitioned=False)


class Migration(migrations.Migration):
    atomic = True

    dependencies = [
        ("reports", "0024_policy_report_unchecked"),
    ]

    operations = [
        migrations.AlterField(
            model_name="inboundmessage",
            name="duplicate_of",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=models.deletion.SET_NULL,
                related_name="+",
                to="reports.report",
            ),
        ),
        migrations.RemoveConstraint(model_name="report", name="report_unique_per_tenant"),
        migrations.RunPython(partition, unpartition, elidable=False),
        migrations.AddConstraint(
            model_name="report",
            constraint=models.UniqueConstraint(
                fields=("tenant", "organization", "report_id", "start", "end", "day"),
                name="report_unique_per_tenant",
            ),
        ),
    ]
