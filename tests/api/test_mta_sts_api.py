"""REST API of hosted MTA-STS: read, replace, versions; validation, roles, isolation."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from accounts.models import AuditEvent, KeyScope, Role, Tenant
from domains.hosting.models import HostedPolicy, HostedPolicyVersion
from domains.models import Domain
from domains.stspolicy import parse_sts_policy
from tests.api.test_api import api, key_for
from tests.factories import make_domain, make_member, make_tenant

pytestmark = pytest.mark.django_db

GOOD = {"enabled": True, "mode": "testing", "mx": ["mx1.acme.test", "*.acme.test"],
        "max_age": 86400}  # fmt: skip


@pytest.fixture
def domain(acme: Tenant) -> Domain:
    return make_domain(acme, "acme.test", mx_hosts=["mx1.acme.test"])


def url(domain: Domain, tail: str = "") -> str:
    return f"/api/v1/domains/{domain.pk}/mta-sts{tail}"


def writer(tenant: Tenant) -> Client:
    return api(key_for(tenant, KeyScope.WRITE))


def put(client: Client, domain: Domain, body: dict):
    return client.put(url(domain), body, content_type="application/json")


def test_before_any_change_it_offers_the_mx_hosts_and_hosts_nothing(domain: Domain) -> None:
    body = api(key_for(domain.tenant)).get(url(domain)).json()
    assert body["enabled"] is False
    assert body["mx"] == ["mx1.acme.test"]
    assert (body["policy_id"], body["txt_record"]) == ("", None)
    assert "readiness" in body  # null until readiness is computed (another part of issue 15)
    assert body["auto"] == {"promote": False, "rollback": False}
    assert body["policy_url"] == "https://mta-sts.acme.test/.well-known/mta-sts.txt"


def test_a_write_key_replaces_the_policy_and_gets_what_to_publish(domain: Domain, settings) -> None:
    settings.HOSTED_MTA_STS_TARGET = "tlsrpt.example.net"
    response = put(writer(domain.tenant), domain, GOOD | {"auto": {"promote": True}})
    assert response.status_code == 200, response.content
    body = response.json()
    policy_id = body["policy_id"]
    assert policy_id.isdigit() and len(policy_id) == 14
    assert body["policy_text"] == (
        "version: STSv1\r\nmode: testing\r\nmx: mx1.acme.test\r\nmx: *.acme.test\r\n"
        "max_age: 86400\r\n"
    )
    assert parse_sts_policy(body["policy_text"]).mx == ("mx1.acme.test", "*.acme.test")
    assert body["txt_record"] == {
        "name": "_mta-sts.acme.test", "type": "TXT", "value": f"v=STSv1; id={policy_id}",
    }  # fmt: skip
    assert body["cname_record"] == {
        "name": "mta-sts.acme.test", "type": "CNAME", "value": "tlsrpt.example.net",
    }  # fmt: skip
    assert body["auto"] == {"promote": True, "rollback": False}
    assert body["txt_mode"] == "customer"
    assert api(key_for(domain.tenant)).get(url(domain)).json() == body
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="mta_sts.hosting_changed").count() == 1


def test_versions_list_each_change_newest_first(domain: Domain) -> None:
    client = writer(domain.tenant)
    first = put(client, domain, GOOD).json()["policy_id"]
    second = put(client, domain, GOOD | {"mode": "enforce"}).json()["policy_id"]
    assert first != second
    response = api(key_for(domain.tenant)).get(url(domain, "/versions"))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [v["policy_id"] for v in results] == [second, first]
    assert results[0]["mode"] == "enforce" and results[0]["source"] == "api"
    assert results[0]["changed_by"] is None
    assert "mode testing → enforce" in results[0]["summary"]


def test_a_person_with_a_session_is_named_in_the_versions(domain: Domain) -> None:
    admin = make_member(domain.tenant, Role.ADMIN).user
    client = Client()
    client.force_login(admin)
    path = f"{url(domain)}?tenant={domain.tenant.slug}"
    assert client.put(path, GOOD, content_type="application/json").status_code == 200
    versions = client.get(f"{url(domain, '/versions')}?tenant={domain.tenant.slug}").json()
    assert versions["results"][0]["changed_by"] == admin.email
    assert versions["results"][0]["source"] == "api"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"mx": ["mx1.acme.test", "http://bad"]}, "mx"), ({"mx": ["*.*.acme.test"]}, "mx"),
     ({"mx": []}, "mx"), ({"max_age": 0}, "max_age"), ({"max_age": 31557601}, "max_age"),
     ({"mode": "strict"}, "mode"), ({"txt_mode": "hosted"}, "txt_mode"),
     ({"mx": "mx1.acme.test"}, "mx"), ({"mx": ["mx1.acme.test", "a\x00b"]}, "mx")],
)  # fmt: skip
def test_invalid_input_is_a_400_in_the_error_shape(domain: Domain, change: dict, field: str):
    response = put(writer(domain.tenant), domain, GOOD | change)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert all(isinstance(m, str) for m in error["fields"][field])  # flat, as documented
    with scopes_disabled():
        assert not HostedPolicy.objects.exists()


def test_an_unverified_domain_is_refused(acme: Tenant) -> None:
    pending = make_domain(acme, "pending.test", verified=False)
    response = put(writer(acme), pending, GOOD)
    assert response.status_code == 400
    assert "not verified" in response.json()["error"]["fields"]["enabled"][0]


def test_a_read_key_cannot_change_hosting(domain: Domain) -> None:
    response = put(api(key_for(domain.tenant)), domain, GOOD)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER])
def test_below_admin_a_session_reads_but_cannot_change(domain: Domain, role: Role) -> None:
    client = Client()
    client.force_login(make_member(domain.tenant, role).user)
    path = f"{url(domain)}?tenant={domain.tenant.slug}"
    assert client.get(path).status_code == 200
    assert client.put(path, GOOD, content_type="application/json").status_code == 403


@pytest.mark.parametrize("tail", ["", "/versions"])
def test_another_tenants_domain_is_404(domain: Domain, tail: str) -> None:
    put(writer(domain.tenant), domain, GOOD)
    other = make_tenant("other")
    client = writer(other)
    assert client.get(url(domain, tail)).status_code == 404
    assert client.get(f"/api/v1/domains/{10**9}/mta-sts{tail}").status_code == 404
    assert put(client, domain, GOOD | {"mode": "enforce"}).status_code == 404
    with scopes_disabled():
        assert HostedPolicyVersion.objects.count() == 1
        assert HostedPolicy.objects.get().mode == "testing"


def test_the_versions_list_costs_the_same_queries_however_long(domain: Domain) -> None:
    client = writer(domain.tenant)
    reader = api(key_for(domain.tenant))

    def queries_for_versions() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert reader.get(url(domain, "/versions")).status_code == 200
        return len(captured)

    put(client, domain, GOOD)
    queries_for_versions()  # the key's first use also records when it was used
    few = queries_for_versions()
    for max_age in range(86401, 86409):
        put(client, domain, GOOD | {"max_age": max_age})
    assert queries_for_versions() == few
