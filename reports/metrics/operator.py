"""The operators' metrics (``/metrics``): the pipeline's health across every tenant.

Read at scrape time from the database and the broker's Redis, never from the process
answering: with several gunicorn and Celery processes each scrape is whole, whichever web
process answers it. Counts over rows that retention deletes are windows of the last 24
hours (gauges), so their cost is bounded by a day's rows; the drain histograms are
counted in Redis by the workers (``reports.metrics.drains``).
"""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, cast

from amqp.exceptions import ChannelError
from django.conf import settings
from django.db.models import Count, Min, QuerySet
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from accounts.tenancy import across_tenants
from domains.models import DnsCheck
from reports.metrics.drains import Histogram, drain_histograms
from reports.models import DeliveryStatus, InboundMessage, Status, WebhookDelivery
from tlsrpt_saas.celery import app

WINDOW = timedelta(hours=24)
# The queues of docs/DESIGN.md; any other a route names is counted too.
QUEUES = ("ingest", "dns", "mail", "webhooks", "default")


def queue_names() -> list[str]:
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    return sorted({*QUEUES, *routed, settings.CELERY_TASK_DEFAULT_QUEUE})


class OperatorCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        since = timezone.now() - WINDOW
        with across_tenants("metrics: the operators' figures count every tenant's rows"):
            yield self._inbound(since)
            yield from self._waiting()
            yield self._dns_checks(since)
            yield from self._webhooks(since)
        yield from self._drains()
        yield self._queues()

    def _inbound(self, since: datetime) -> Metric:
        return _counted(
            "tlsrpt_inbound_messages_24h",
            "Messages received in the last 24 hours, by door and current outcome.",
            {"door": "channel", "outcome": "status"},
            InboundMessage.objects.filter(received_at__gte=since),
        )

    def _waiting(self) -> Iterator[Metric]:
        waiting = InboundMessage.objects.filter(status=Status.RECEIVED).aggregate(
            n=Count("pk"), oldest=Min("received_at")
        )
        lag = (timezone.now() - waiting["oldest"]).total_seconds() if waiting["oldest"] else 0
        yield GaugeMetricFamily(
            "tlsrpt_ingest_waiting_messages", "Messages stored and not processed yet.",
            value=waiting["n"],
        )  # fmt: skip
        yield GaugeMetricFamily(
            "tlsrpt_ingest_lag_seconds",
            "Age of the oldest message waiting to be processed (0 when none waits).",
            value=max(lag, 0.0),
        )

    def _dns_checks(self, since: datetime) -> Metric:
        return _counted(
            "tlsrpt_dns_checks_24h",
            "DNS health checks run in the last 24 hours, by kind and outcome.",
            {"kind": "kind", "status": "status"},
            DnsCheck.objects.filter(checked_at__gte=since),
        )

    def _webhooks(self, since: datetime) -> Iterator[Metric]:
        yield _counted(
            "tlsrpt_webhook_deliveries_24h",
            "Webhook deliveries of the last 24 hours by endpoint kind and outcome so far "
            "(pending: still being tried).",
            {"kind": "endpoint__kind", "outcome": "status"},
            WebhookDelivery.objects.filter(created_at__gte=since),
        )
        pending = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count()
        yield GaugeMetricFamily(
            "tlsrpt_webhook_deliveries_pending",
            "Webhook deliveries not yet delivered or given up, whenever their event was.",
            value=pending,
        )

    def _drains(self) -> Iterator[Metric]:
        histograms = drain_histograms()
        if histograms is None:
            return  # not counted without a Redis broker (see reports.metrics.drains)
        sizes, seconds = histograms
        yield _histogram("tlsrpt_drain_batch_size", "Messages per drain batch.", sizes)
        yield _histogram(
            "tlsrpt_drain_batch_duration_seconds", "Time to process one drain batch.", seconds
        )

    def _queues(self) -> Metric:
        family = GaugeMetricFamily(
            "tlsrpt_celery_queue_length", "Tasks waiting in each Celery queue.", labels=["queue"]
        )
        # The transport counts: list lengths in Redis, files in the filesystem broker's folder.
        with app.connection_for_read() as connection:
            # kombu's virtual channels (Redis, filesystem) declare queues; its stub types
            # the channel with the abstract StdChannel, which does not.
            channel = cast(Any, connection.default_channel)
            for name in queue_names():
                try:
                    size = channel.queue_declare(name, passive=True).message_count
                except ChannelError:
                    size = 0  # Redis has no key for an empty queue
                family.add_metric([name], size)
        return family


def _counted(name: str, documentation: str, labels: dict[str, str], rows: QuerySet) -> Metric:
    """A gauge of ``rows`` counted by the fields behind ``labels`` (label name: field)."""
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    fields = list(labels.values())
    for *values, n in rows.values_list(*fields).annotate(n=Count("pk")).order_by(*fields):
        family.add_metric([str(v) for v in values], n)
    return family


def _histogram(name: str, documentation: str, h: Histogram) -> Metric:
    return HistogramMetricFamily(name, documentation, buckets=h.buckets, sum_value=h.sum)
