"""Celery tasks for alerts: hourly evaluation fanned out per tenant, and the emails.

Task names stay ``reports.alert_tasks.*``, as before the move into this package."""

from celery import Task, shared_task
from django.db import transaction

from accounts.models import Tenant
from accounts.tenancy import row_scope
from reports.alerts.mail import alert_notify
from reports.alerts.rules import alert_tenants, alerts_evaluate
from reports.models import Alert


@shared_task(name="reports.alert_tasks.evaluate_alerts")
def evaluate_alerts() -> int:
    """Queue an evaluation for every tenant that has a verified domain."""
    ids = alert_tenants()
    for tenant_id in ids:
        evaluate_tenant_alerts.delay(tenant_id)
    return len(ids)


@shared_task(
    name="reports.alert_tasks.evaluate_tenant_alerts",
    acks_late=True,
    max_retries=3,
    default_retry_delay=120,
)
def evaluate_tenant_alerts(tenant_id: int) -> str:
    with row_scope(Tenant, tenant_id) as tenant:
        if tenant is None:
            return "missing"
        with transaction.atomic():
            result = alerts_evaluate(tenant=tenant)
    return f"opened {len(result.opened)}, resolved {len(result.resolved)}"


@shared_task(
    name="reports.alert_tasks.send_alert_email",
    bind=True,
    acks_late=True,
    max_retries=5,
    default_retry_delay=300,
)
def send_alert_email(self: Task, alert_id: int) -> str:
    """Email a new alert to the admins, at most once (``alert_notify`` claims it first);
    a failed send is retried (at most ``max_retries`` times), its claim released."""
    with row_scope(Alert, alert_id, "domain", "domain__tenant") as alert:
        if alert is None:
            return "missing"
        try:
            sent = alert_notify(alert=alert)
        except Exception as e:
            raise self.retry(exc=e) from e
    return "already sent" if sent is None else f"sent {sent}"
