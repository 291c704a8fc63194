"""Every Celery task of the reports app, gathered where Celery's autodiscovery looks.

Each feature keeps its tasks in its own package; their names are stable (see each module).
"""

from reports.alerts.tasks import evaluate_alerts, evaluate_tenant_alerts, send_alert_email
from reports.digests.tasks import queue_weekly_digests, send_tenant_digest
from reports.enforcement.tasks import enforcement_domain_step, run_loop, send_change_email
from reports.inbound.tasks import poll_mailbox, poll_mailboxes
from reports.ingest.tasks import (
    drain_inbound,
    ensure_partitions,
    process_inbound,
    purge_expired_rows,
    queue_unqueued_inbound,
    requeue_stale_inbound,
)
from reports.metrics.tasks import refresh as refresh_metrics
from reports.selftest.tasks import run_self_test
from reports.webhooks.tasks import (
    purge_deliveries,
    send_deliveries,
    send_disabled_email,
    sweep_deliveries,
)

__all__ = [
    "drain_inbound", "enforcement_domain_step", "ensure_partitions", "evaluate_alerts",
    "evaluate_tenant_alerts", "poll_mailbox", "poll_mailboxes", "process_inbound",
    "purge_deliveries", "purge_expired_rows", "queue_unqueued_inbound", "queue_weekly_digests",
    "refresh_metrics", "requeue_stale_inbound", "run_loop", "run_self_test", "send_alert_email",
    "send_change_email", "send_deliveries", "send_disabled_email", "send_tenant_digest",
    "sweep_deliveries",
]  # fmt: skip
