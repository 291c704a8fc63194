"""Celery task of the metrics: a tenant's kept ``/api/v1/metrics`` answer, refreshed.

The name is stable (``reports.metrics.refresh``): ``reports.metrics.answers`` queues it.
"""

from celery import shared_task
from django.core.cache import cache

from accounts.models import Tenant
from accounts.tenancy import row_scope
from reports.metrics.answers import REFRESH, answer_compute, refreshing_key


@shared_task(name=REFRESH)
def refresh(tenant_id: int) -> None:
    with row_scope(Tenant, tenant_id) as tenant:
        if tenant is not None:
            answer_compute(tenant_id)
    cache.delete(refreshing_key(tenant_id))
