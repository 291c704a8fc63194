"""The Celery application; configuration comes from Django settings (``CELERY_*``)."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tlsrpt_saas.settings")

app = Celery("tlsrpt_saas")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's tasks.py; reports.tasks gathers those of the reports app's features.
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(**kwargs: Any) -> None:
    """Drop connections that are broken or past CONN_MAX_AGE, as Django does per request."""
    # Imported when a task runs, not with the Celery app: this module loads before
    # Django's settings (tlsrpt_saas/__init__.py imports it).
    from django.db import close_old_connections

    close_old_connections()
