"""Reports: an index on the day (the retention purge's reports past the cut-off, across
tenants) and no lone tenant index (``report_tenant_day`` and the unique key start with the
tenant). Only the index is dropped: Django's ``AlterField`` would drop and re-add the
foreign key, checking every report under a lock."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_membership_weekly_digest"),
        ("reports", "0022_rollup_covering_keys"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="report",
            index=models.Index(fields=["day"], name="report_day"),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="report",
                    name="tenant",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="reports", to="accounts.tenant"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "reports_report_tenant_id_7473c4ae"',
                    'CREATE INDEX "reports_report_tenant_id_7473c4ae" ON "reports_report" ("tenant_id")',
                ),
            ],
        ),
    ]
