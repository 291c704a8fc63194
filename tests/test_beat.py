"""The beat schedule: every periodic job is in it, and each names a registered task."""

from django.conf import settings

from tlsrpt_saas.celery import app

PERIODIC = {
    "reports.tasks.requeue_stale_inbound",
    "reports.tasks.queue_unqueued_inbound",
    "reports.tasks.poll_mailboxes",
    "domains.tasks.check_pending_domains",
    "domains.tasks.queue_health_checks",
    "reports.alert_tasks.evaluate_alerts",
    "reports.digest_tasks.queue_weekly_digests",
    "reports.retention_tasks.purge_expired_rows",
    "reports.retention_tasks.ensure_partitions",
    "reports.webhooks.sweep_deliveries",
    "reports.webhooks.purge_deliveries",
    "reports.enforcement.run_loop",
}


def test_the_schedule_holds_every_periodic_job() -> None:
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == PERIODIC


def test_every_scheduled_task_is_registered_and_routed() -> None:
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
        queue = app.amqp.router.route({}, entry["task"])["queue"].name
        assert queue in {"ingest", "dns", "mail", "webhooks", "default"}


def test_the_worker_consumes_every_queue_tasks_go_to() -> None:
    procfile = (settings.BASE_DIR / "Procfile").read_text()
    worker = next(line for line in procfile.splitlines() if line.startswith("worker:"))
    for queue in ("ingest", "dns", "mail", "webhooks", "default"):
        assert queue in worker.split("-Q", 1)[1].split()[0].split(",")


def test_webhook_tasks_queued_by_name_are_registered_and_routed() -> None:
    from reports.webhooks.record import SEND_DELIVERIES
    from reports.webhooks.sending import SEND_DISABLED_EMAIL
    from tlsrpt_saas.queueing import task_named

    for name, queue in ((SEND_DELIVERIES, "webhooks"), (SEND_DISABLED_EMAIL, "mail")):
        assert task_named(name).name == name
        assert app.amqp.router.route({}, name)["queue"].name == queue


def test_every_task_queued_by_name_is_registered_and_routed() -> None:
    """Services queue these by name (tlsrpt_saas.queueing): a misspelt one fails here."""
    from domains.verification import CHECK_DOMAIN_HEALTH
    from reports.alerts.rules import SEND_ALERT_EMAIL
    from reports.enforcement.loop import SEND_CHANGE_EMAIL
    from reports.ingest.wake import DRAIN_INBOUND
    from tlsrpt_saas.queueing import task_named

    for name in (CHECK_DOMAIN_HEALTH, SEND_ALERT_EMAIL, DRAIN_INBOUND, SEND_CHANGE_EMAIL):
        assert task_named(name).name == name
        queue = app.amqp.router.route({}, name)["queue"].name
        assert queue in {"ingest", "dns", "mail", "default"}
