import gzip

from django.db import migrations, models


def compress(apps, schema_editor) -> None:  # noqa: ANN001 -- migration signature
    Report = apps.get_model("reports", "Report")
    for report in Report.objects.only("pk", "raw_json").iterator(chunk_size=200):
        report.raw_json_gz = gzip.compress(bytes(report.raw_json), compresslevel=1, mtime=0)
        report.save(update_fields=["raw_json_gz"])


def decompress(apps, schema_editor) -> None:  # noqa: ANN001 -- migration signature
    Report = apps.get_model("reports", "Report")
    for report in Report.objects.only("pk", "raw_json_gz").iterator(chunk_size=200):
        report.raw_json = gzip.decompress(bytes(report.raw_json_gz))
        report.save(update_fields=["raw_json"])


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_dailyfailure_without_sending_ip"),
    ]

    operations = [
        migrations.AddField(
            model_name="report", name="raw_json_gz", field=models.BinaryField(default=b"")
        ),
        # A default, so that migrating back can re-add the column to existing rows.
        migrations.AlterField(
            model_name="report", name="raw_json", field=models.BinaryField(default=b"")
        ),
        migrations.RunPython(compress, decompress),
        migrations.RemoveField(model_name="report", name="raw_json"),
        migrations.AlterField(
            model_name="report", name="raw_json_gz", field=models.BinaryField()
        ),
    ]
