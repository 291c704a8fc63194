"""The operator's admin shows every tenant's rows; nobody else gets in."""

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import corpus, ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def ingested() -> None:
    tenant = make_tenant()
    make_domain(tenant, "krvtz.net")
    ingest(tenant, corpus("google-2024-09-15-sts-enforce-krvtz.eml"))


def test_a_superuser_sees_the_ingested_report_and_its_rollup(ingested: None) -> None:
    client = Client()
    client.force_login(User.objects.create_superuser("root@ops.example", "pw-for-tests-only"))

    reports = client.get("/admin/reports/report/")
    stats = client.get("/admin/reports/dailystat/")
    messages = client.get("/admin/reports/inboundmessage/")

    assert reports.status_code == stats.status_code == messages.status_code == 200
    assert b"2024-09-15T00:00:00Z_krvtz.net" in reports.content
    assert b"Google Inc." in stats.content
    assert b"processed" in messages.content.lower()


def test_a_tenant_owner_who_is_not_staff_cannot_open_the_admin(ingested: None) -> None:
    client = Client()
    client.force_login(User.objects.get(email="owner@acme.test"))

    response = client.get("/admin/reports/report/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
