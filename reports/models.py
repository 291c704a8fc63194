"""The reports app's models, each defined in its feature's package and gathered here, so
that Django finds them under the one app label ``reports`` and the migrations stay.

Every row belongs to a tenant and is reached through a scoped manager: a query outside
``django_scopes.scope(tenant=...)`` raises instead of leaking another tenant's data.
"""

from reports.alerts.models import Alert, AlertKind
from reports.digests.models import DigestDelivery
from reports.inbound.models import (
    Channel,
    InboundMessage,
    InboundRefusal,
    MailboxFailure,
    MailboxSource,
    Status,
    TlsMode,
)
from reports.ingest.models import (
    BreakdownKind,
    DailyBreakdown,
    DailyFailure,
    DailyStat,
    FailureDetail,
    PolicyResult,
    PolicyType,
    Report,
)
from reports.selftest.models import DoorStatus, SelfTest
from reports.webhooks.models import (
    DeliveryStatus,
    EndpointKind,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "Alert", "AlertKind", "BreakdownKind", "Channel", "DailyBreakdown", "DailyFailure",
    "DailyStat", "DeliveryStatus", "DigestDelivery", "DoorStatus", "EndpointKind",
    "FailureDetail", "InboundMessage", "InboundRefusal", "MailboxFailure", "MailboxSource",
    "PolicyResult", "PolicyType", "Report", "SelfTest", "Status", "TlsMode", "WebhookDelivery",
    "WebhookEndpoint",
]  # fmt: skip
