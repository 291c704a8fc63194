from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="dailyfailure", name="dailyfailure_unique_key"),
        migrations.RemoveField(model_name="dailyfailure", name="sending_ip"),
        migrations.AddConstraint(
            model_name="dailyfailure",
            constraint=models.UniqueConstraint(
                fields=(
                    "domain", "day", "policy_type", "result_type", "receiving_mx", "organization",
                ),
                name="dailyfailure_unique_key",
            ),
        ),
    ]
