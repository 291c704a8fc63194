from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        # Readiness to enforce, which domains' page and API show without importing reports
        # (apps import downward): registered here, as the verdicts need the loaded models.
        from domains.hosting.readiness import register_readiness

        # Receivers of domains' signals: domains tells, reports acts (apps import downward).
        from reports.ingest import domain_removal  # noqa: F401
        from reports.readiness.verdicts import readiness_dict  # reads models: not at import

        register_readiness(readiness_dict)

        # Domains' events become webhook deliveries, written in the event's transaction
        # (the receiver reads models: imported once the apps are loaded).
        from domains.events import domain_event
        from reports.webhooks.hooks import domain_event_received  # reads models

        domain_event.connect(domain_event_received, dispatch_uid="webhooks.domain_event")
