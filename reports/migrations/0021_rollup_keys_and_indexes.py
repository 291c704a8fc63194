"""The rollups' keys as ingest and the dashboards need them.

* ``DailyBreakdown``: no database constraint on its keys (a large report writes thousands
  of rows, and the per-row constraint triggers at commit cost more than the rows), no
  tenant index (its rows go with their domain).
* ``DailyStat`` and ``DailyFailure``: their lone tenant and domain indexes go, each
  covered by a composite index that starts with the same column. Only the indexes are
  dropped: the foreign-key constraints stay as they are (Django's own ``AlterField``
  would drop and re-add them, checking every row under a lock).
"""

import django.db.models.deletion
from django.db import migrations, models

LONE_INDEXES = [
    "reports_dailystat_tenant_id_fadcee5b",
    "reports_dailystat_domain_id_05f1ea65",
    "reports_dailyfailure_tenant_id_02975186",
    "reports_dailyfailure_domain_id_32626270",
]


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_membership_weekly_digest'),
        ('domains', '0007_mx_tls_probes'),
        ('reports', '0020_daily_breakdowns'),
    ]

    operations = [
        migrations.AlterField(
            model_name='dailybreakdown',
            name='domain',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='domains.domain'),
        ),
        migrations.AlterField(
            model_name='dailybreakdown',
            name='tenant',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.tenant'),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='dailyfailure',
                    name='domain',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='daily_failures', to='domains.domain'),
                ),
                migrations.AlterField(
                    model_name='dailyfailure',
                    name='tenant',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.tenant'),
                ),
                migrations.AlterField(
                    model_name='dailystat',
                    name='domain',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='daily_stats', to='domains.domain'),
                ),
                migrations.AlterField(
                    model_name='dailystat',
                    name='tenant',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.tenant'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{name}"', migrations.RunSQL.noop)
                for name in LONE_INDEXES
            ],
        ),
    ]
