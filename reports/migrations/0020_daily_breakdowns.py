"""Failed sessions per domain and day by sending IP and by reason code (``DailyBreakdown``),
filled from the failure details still kept, as ingest would have added them: details of
policies attributed to a domain, self-tests left out, values cut as ingest cuts them.
Details the retention purge has already removed are not recovered: the two breakdowns
cover the days the raw rows covered before, and every day from now on.
"""

import django.db.models.deletion
from django.db import migrations, models


BACKFILL = """
INSERT INTO reports_dailybreakdown (tenant_id, domain_id, kind, day, value, count, counted)
SELECT p.tenant_id, p.domain_id, '{kind}', p.day, {value},
       SUM(d.failed_session_count),
       SUM(CASE WHEN p.counted THEN d.failed_session_count ELSE 0 END)
FROM reports_failuredetail d
JOIN reports_policyresult p ON p.id = d.policy_id
JOIN reports_report r ON r.id = p.report_id
WHERE p.domain_id IS NOT NULL AND NOT r.is_test{where}
GROUP BY p.tenant_id, p.domain_id, p.day, {value}
"""
IPS = BACKFILL.format(kind="ip", value="d.sending_mta_ip", where="")
REASONS = BACKFILL.format(
    kind="reason", value="substr(d.failure_reason_code, 1, 255)",
    where=" AND d.failure_reason_code <> ''",
)  # fmt: skip


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_membership_weekly_digest'),
        ('domains', '0007_mx_tls_probes'),
        ('reports', '0019_monthly_partitions'),
    ]

    operations = [
        migrations.CreateModel(
            name='DailyBreakdown',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('ip', 'Sending MTA IP'), ('reason', 'Failure reason code')], max_length=8)),
                ('day', models.DateField()),
                ('value', models.CharField(blank=True, max_length=255)),
                ('count', models.BigIntegerField(default=0)),
                ('counted', models.BigIntegerField(default=0, help_text='Share counted in domain totals.')),
                ('domain', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='domains.domain')),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.tenant')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('domain', 'kind', 'day', 'value'), name='dailybreakdown_unique_key')],
            },
        ),
        migrations.RunSQL(IPS, migrations.RunSQL.noop),
        migrations.RunSQL(REASONS, migrations.RunSQL.noop),
    ]
