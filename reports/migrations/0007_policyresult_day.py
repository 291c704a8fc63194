from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("domains", "0002_domain_last_check"),
        ("reports", "0006_imap_mailboxes"),
    ]

    operations = [
        migrations.AddField(
            model_name="policyresult",
            name="day",
            field=models.DateField(null=True),
        ),
        migrations.RunSQL(
            "UPDATE reports_policyresult SET day = r.day FROM reports_report r "
            "WHERE r.id = reports_policyresult.report_id",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="policyresult",
            name="day",
            field=models.DateField(),
        ),
        migrations.AddIndex(
            model_name="policyresult",
            index=models.Index(fields=["domain", "-day", "-report"], name="policy_domain_day"),
        ),
    ]
