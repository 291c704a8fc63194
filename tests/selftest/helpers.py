"""A self-test's report stored as the door would, without sending it (for tests of what
the readers show)."""

import uuid
from datetime import datetime

from django_scopes import scope

from accounts.models import Tenant
from domains.models import Domain
from reports.inbound.models import InboundMessage, Status
from reports.selftest.build import self_test_email, self_test_report
from reports.selftest.models import DoorStatus, SelfTest
from tests.reports.helpers import ingest


def self_test_ingested(tenant: Tenant, domain: Domain, now: datetime) -> InboundMessage:
    """A self-test of ``domain`` at ``now``: its row, then its e-mail stored and processed."""
    with scope(tenant=tenant):
        test = SelfTest.objects.create(
            tenant=tenant, domain=domain, report_id=f"selftest-{uuid.uuid4().hex}",
            smtp_status=DoorStatus.SENT,
        )  # fmt: skip
    document = self_test_report(domain=domain.name, report_id=test.report_id, now=now)
    raw = self_test_email(
        document, sender="self-test@reports.localhost", to=tenant.inbound_address,
        submitter="reports.localhost", now=now,
    )  # fmt: skip
    message = ingest(tenant, raw)[0]
    assert message.status == Status.PROCESSED, message.error_message
    return message
