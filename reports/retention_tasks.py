"""The daily retention purge (see ``reports.retention``), on the default queue."""

from dataclasses import asdict

from celery import shared_task
from django.conf import settings

from reports.retention import purge_expired


@shared_task
def purge_expired_rows() -> dict[str, int | bool]:
    """Delete what is past its retention; if time ran out, go on in a minute."""
    purged = purge_expired(seconds=settings.RETENTION_PURGE_SECONDS)
    if purged.more:
        purge_expired_rows.apply_async(countdown=60)
    return asdict(purged)
