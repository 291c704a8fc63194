from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        # Receivers of domains' signals: domains tells, reports acts (apps import downward).
        from reports.ingest import domain_removal  # noqa: F401
