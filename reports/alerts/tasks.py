"""Celery tasks for alerts: hourly evaluation fanned out per tenant, and the emails."""

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant
from reports.alerts.mail import alert_email_send
from reports.alerts.rules import alerts_evaluate
from reports.models import Alert


@shared_task(name="reports.alert_tasks.evaluate_alerts")
def evaluate_alerts() -> int:
    """Queue an evaluation for every tenant that has a verified domain."""
    with scopes_disabled():
        ids = list(
            Tenant.objects.filter(domains__verified_at__isnull=False)
            .distinct()
            .values_list("pk", flat=True)
        )
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
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return "missing"
    with scope(tenant=tenant.pk), transaction.atomic():
        result = alerts_evaluate(tenant=tenant)
    return f"opened {len(result.opened)}, resolved {len(result.resolved)}"


@shared_task(
    name="reports.alert_tasks.send_alert_email",
    bind=True,
    acks_late=True,
    max_retries=5,
    default_retry_delay=300,
)
def send_alert_email(self, alert_id: int) -> str:
    """Email a new alert to the admins, at most once: the row is claimed before sending."""
    with scopes_disabled():
        claimed = Alert.objects.filter(pk=alert_id, notified_at__isnull=True).update(
            notified_at=timezone.now()
        )
        if not claimed:
            return "already sent"
        alert = Alert.objects.select_related("domain", "domain__tenant").get(pk=alert_id)
    try:
        sent = alert_email_send(alert=alert)
    except OSError as e:
        with scopes_disabled():
            Alert.objects.filter(pk=alert_id).update(notified_at=None)
        raise self.retry(exc=e) from e
    return f"sent {sent}"
