"""How each domain was verified: existing verified domains were verified by their record."""

from django.db import migrations, models


def mark_dns_verified(apps, schema_editor) -> None:
    Domain = apps.get_model("domains", "Domain")
    Domain.objects.filter(verified_at__isnull=False).update(verified_by="dns")


class Migration(migrations.Migration):
    dependencies = [
        ("domains", "0003_health_checks"),
    ]

    operations = [
        migrations.AddField(
            model_name="domain",
            name="verified_by",
            field=models.CharField(
                blank=True,
                choices=[("dns", "Ownership record"), ("operator", "An operator")],
                max_length=16,
            ),
        ),
        migrations.RunPython(mark_dns_verified, migrations.RunPython.noop),
    ]
