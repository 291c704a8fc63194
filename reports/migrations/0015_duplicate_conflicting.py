"""An inbound message's status may be ``duplicate_conflicting`` (issue 14): a report that
repeats a stored report's key with other content. The column widens to hold it; on
PostgreSQL widening a varchar rewrites nothing."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0014_inbound_refusals"),
    ]

    operations = [
        migrations.AlterField(
            model_name="inboundmessage",
            name="status",
            field=models.CharField(
                choices=[
                    ("received", "Received"),
                    ("processed", "Processed"),
                    ("duplicate", "Duplicate"),
                    ("duplicate_conflicting", "Duplicate, conflicting"),
                    ("unattributed", "Unattributed"),
                    ("failed", "Failed"),
                ],
                default="received",
                max_length=24,
            ),
        ),
    ]
