"""Each role of a logged-in member on every API route (session authentication)."""

import json

import pytest
from django.test import Client
from django_scopes import scopes_disabled

from accounts.models import Role, Tenant
from reports.models import InboundMessage, Report, SelfTest
from tests.factories import make_domain, make_member, make_tenant, owner_of
from tests.reports.helpers import ingest
from tests.reports.mail import report_json

pytestmark = pytest.mark.django_db

# (method, path with {domain}/{report}/{message}, data, least role)
ROUTES = [
    ("get", "/api/v1/tenant", None, Role.VIEWER),
    ("get", "/api/v1/domains", None, Role.VIEWER),
    ("post", "/api/v1/domains", {"name": "new.example.org"}, Role.ADMIN),
    ("get", "/api/v1/domains/{domain}", None, Role.VIEWER),
    ("post", "/api/v1/domains/{domain}/verify", None, Role.ADMIN),
    ("get", "/api/v1/domains/{domain}/mta-sts", None, Role.VIEWER),
    (
        "put",
        "/api/v1/domains/{domain}/mta-sts",
        {"enabled": True, "mode": "testing", "mx": ["mx.example.org"], "max_age": 86400},
        Role.ADMIN,
    ),
    ("get", "/api/v1/domains/{domain}/mta-sts/versions", None, Role.VIEWER),
    ("delete", "/api/v1/domains/{domain}", None, Role.ADMIN),
    ("get", "/api/v1/stats/daily", None, Role.VIEWER),
    ("get", "/api/v1/stats/breakdown?by=result_type&domain={domain}", None, Role.VIEWER),
    ("get", "/api/v1/failures", None, Role.VIEWER),
    ("get", "/api/v1/reports", None, Role.VIEWER),
    ("get", "/api/v1/reports/{report}", None, Role.VIEWER),
    ("get", "/api/v1/reports/{report}/raw", None, Role.VIEWER),
    ("get", "/api/v1/inbound", None, Role.VIEWER),
    ("get", "/api/v1/inbound/{message}", None, Role.VIEWER),
    ("post", "/api/v1/inbound/{message}/reprocess", None, Role.MEMBER),
    ("post", "/api/v1/domains/{domain}/self-test", {"https": False}, Role.MEMBER),
    ("get", "/api/v1/domains/{domain}/self-test/{self_test}", None, Role.VIEWER),
    ("get", "/api/v1/metrics", None, Role.VIEWER),
]


def _objects(tenant: Tenant) -> dict[str, int]:
    domain = make_domain(tenant, "example.org")
    ingest(tenant, json.dumps(report_json(domain="unverified.example")).encode())
    ingest(tenant, json.dumps(report_json(domain="example.org")).encode())
    with scopes_disabled():
        report = Report.objects.get(tenant=tenant)
        message = InboundMessage.objects.filter(tenant=tenant, status="unattributed").get()
        self_test = SelfTest.objects.create(tenant=tenant, domain=domain, report_id="selftest-a")
    return {
        "domain": domain.pk,
        "report": report.pk,
        "message": message.pk,
        "self_test": self_test.pk,
    }


@pytest.mark.parametrize(("method", "path", "data", "least"), ROUTES)
@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER])
def test_each_role_with_a_session(method: str, path: str, data, least: Role, role: Role) -> None:
    tenant = make_tenant("acme")
    ids = _objects(tenant)
    user = owner_of(tenant) if role == Role.OWNER else make_member(tenant, role).user
    client = Client()
    client.force_login(user)
    url = path.format(**ids) + ("&" if "?" in path else "?") + "tenant=acme"
    if method == "get":
        response = client.get(url)
    else:  # the session's CSRF check is the test client's to skip; roles are what is tested
        response = getattr(client, method)(url, data, content_type="application/json")

    if role.rank >= least.rank:
        assert response.status_code in (200, 201, 202, 204), response.content[:300]
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
