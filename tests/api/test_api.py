"""REST API v1: keys, errors, domains, daily stats, isolation of every route, the schema."""

import copy
import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.db.models import Model
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.models import ApiKey, KeyScope, Role, Tenant
from domains.models import Domain
from reports.dashboards import periods, selectors
from reports.models import InboundMessage, Report, SelfTest, Status
from tests.dnsserver import ZoneResolver
from tests.factories import make_domain, make_member, make_tenant
from tests.reports.helpers import ingest
from tests.reports.mail import report_json

pytestmark = pytest.mark.django_db
API = "/api/v1"


def key_for(tenant: Tenant, scope: KeyScope = KeyScope.READ, **fields: object) -> str:
    return ApiKey.objects.create_key(tenant=tenant, name="test", scope=scope, **fields)[1]


def api(secret: str | None = None, scheme: str = "Bearer") -> Client:
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"{scheme} {secret}"} if secret else {}
    return Client(**headers)


def test_without_a_key_401_in_the_error_shape() -> None:
    response = api().get(f"{API}/domains")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("scheme", ["Bearer", "Api-Key"])
def test_both_key_schemes_read_the_tenant(scheme: str) -> None:
    acme = make_tenant("acme")
    response = api(key_for(acme), scheme).get(f"{API}/tenant")
    assert response.status_code == 200
    assert response.json() == {
        "name": "Acme", "slug": "acme", "time_zone": "UTC",
        "inbound_address": acme.inbound_address, "https_rua_url": acme.https_rua_url,
        "members": [{"email": "owner@acme.test", "role": "owner"}],
    }  # fmt: skip


def test_revoked_and_expired_keys_stop_at_once() -> None:
    acme = make_tenant("acme")
    secret = key_for(acme)
    client = api(secret)
    assert client.get(f"{API}/tenant").status_code == 200
    ApiKey.objects.filter(tenant=acme).update(revoked=True)
    assert client.get(f"{API}/tenant").status_code == 401
    expired = key_for(acme, expiry_date=timezone.now() - timedelta(minutes=1))
    assert api(expired).get(f"{API}/tenant").status_code == 401
    assert api("nonsense.key").get(f"{API}/tenant").status_code == 401


def test_a_read_key_cannot_write_and_a_write_key_adds_a_domain() -> None:
    acme = make_tenant("acme")
    refused = api(key_for(acme)).post(f"{API}/domains", {"name": "example.org"})
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": "permission_denied", "message": "This key can only read."
    }  # fmt: skip

    response = api(key_for(acme, KeyScope.WRITE)).post(
        f"{API}/domains", {"name": "Example.ORG."}, content_type="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["state"], body["verified_by"]) == ("example.org", "pending", None)
    assert body["records"]["tlsrpt"]["value"] == f"v=TLSRPTv1; rua=mailto:{acme.inbound_address}"


def test_a_bug_of_ours_is_a_json_500_and_adds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer fails after the domain was added: the client reads JSON, and finds no
    half-done write when it tries again."""
    import domains.api

    def broken(domains: list) -> list:
        raise RuntimeError("a bug while answering")

    monkeypatch.setattr(domains.api, "serialize", broken)
    acme = make_tenant("acme")
    response = api(key_for(acme, KeyScope.WRITE)).post(
        f"{API}/domains", {"name": "example.org"}, content_type="application/json"
    )

    assert (response.status_code, response["Content-Type"]) == (500, "application/json")
    assert response.json()["error"]["code"] == "server_error"
    with scope(tenant=acme):
        assert not Domain.objects.exists()


def test_bad_input_is_400_with_fields_never_500() -> None:
    acme = make_tenant("acme")
    writer = api(key_for(acme, KeyScope.WRITE))
    bad = writer.post(f"{API}/domains", {"name": "localhost"}, content_type="application/json")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]["name"] == [
        "localhost cannot receive mail from the internet."
    ]
    for query in ("from=yesterday", "domain=abc", "from=2026-01-02&to=2026-01-01"):
        response = writer.get(f"{API}/stats/daily?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == "invalid"


def test_verify_now_through_the_api(dns: ZoneResolver) -> None:
    acme = make_tenant("acme")
    domain = make_domain(acme, "example.org", verified=False)
    dns.add_txt("_tlsrpt-verify.example.org", domain.verification_token)
    response = api(key_for(acme, KeyScope.WRITE)).post(f"{API}/domains/{domain.pk}/verify")
    assert response.status_code == 200 and response.json()["state"] == "verified"


def test_the_api_stats_equal_the_dashboards() -> None:
    acme = make_tenant("acme")
    domain = make_domain(acme, "example.org")
    ingest(acme, json.dumps(report_json(domain="example.org", organization="Google")).encode())
    ms = report_json(domain="example.org", organization="Microsoft", successful=5, failed=1)
    tlsa = copy.deepcopy(ms["policies"][0])
    tlsa["policy"]["policy-type"] = "tlsa"
    ms["policies"].append(tlsa)
    ingest(acme, json.dumps(ms).encode())
    query = f"domain={domain.pk}&from=2026-10-30&to=2026-11-01"

    rows = api(key_for(acme)).get(f"{API}/stats/daily?{query}").json()

    period = periods.Period.last(3, "UTC", today=date(2026, 11, 1))
    with scope(tenant=acme):
        expected = selectors.daily_series(domain, period)
    assert rows == [
        {"day": p.day.isoformat(), "successful": p.totals.successful,
         "failed": p.totals.failed, "success_rate": p.totals.success_rate}
        for p in expected
    ]  # fmt: skip
    assert rows[-1] == {"day": "2026-11-01", "successful": 15, "failed": 3, "success_rate": 83.33}


def test_a_member_uses_the_api_with_the_session_and_csrf() -> None:
    acme = make_tenant("acme")
    viewer = make_member(acme, Role.VIEWER)
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer.user)
    assert client.get(f"{API}/tenant", HTTP_X_TENANT="acme").status_code == 200
    assert client.get(f"{API}/tenant", HTTP_X_TENANT="other").status_code == 404
    refused = client.post(f"{API}/domains?tenant=acme", {"name": "example.org"})
    assert refused.status_code == 403  # no CSRF token


def test_docs_and_schema_are_served_without_a_cdn() -> None:
    docs = Client().get(f"{API}/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()
    schema = Client().get(f"{API}/schema/?format=json")
    assert schema.status_code == 200


# Every route in the schema, with how to name tenant B's object in it.
ISOLATION = {
    "/api/v1/tenant": ("get", None),
    "/api/v1/domains": ("get", None),
    "/api/v1/domains/{id}": ("get", "domain"),
    "/api/v1/domains/{id}/verify": ("post", "domain"),
    "/api/v1/domains/{id}/mta-sts": ("get", "domain"),
    "/api/v1/domains/{id}/mta-sts/versions": ("get", "domain"),
    "/api/v1/domains/{id}/self-test": ("post", "domain"),
    "/api/v1/domains/{id}/self-test/{test_id}": ("get", "domain"),
    "/api/v1/stats/daily": ("get", None),
    "/api/v1/reports": ("get", None),
    "/api/v1/reports/{id}": ("get", "report"),
    "/api/v1/reports/{id}/raw": ("get", "report"),
    "/api/v1/failures": ("get", None),
    "/api/v1/stats/breakdown": ("get", "domain"),
    "/api/v1/inbound": ("get", None),
    "/api/v1/inbound/upload": ("post", None),
    "/api/v1/inbound/{id}": ("get", "message"),
    "/api/v1/inbound/{id}/reprocess": ("post", "message"),
    "/api/v1/metrics": ("get", None),
}
# Routes whose object goes in the query string.
QUERIES = {"/api/v1/stats/breakdown": "?by=result_type&domain={id}"}


def test_every_schema_route_is_in_the_isolation_table() -> None:
    schema = json.loads(Client().get(f"{API}/schema/", HTTP_ACCEPT="application/json").content)
    assert set(schema["paths"]) == set(ISOLATION)


@pytest.mark.parametrize("path", list(ISOLATION))
def test_a_key_of_tenant_a_never_reaches_tenant_b(path: str) -> None:
    a, b = make_tenant("a"), make_tenant("b")
    make_domain(a, "a.example")
    theirs = make_domain(b, "b.example")
    ingest(b, json.dumps(report_json(domain="b.example")).encode())
    method, names = ISOLATION[path]
    client = api(key_for(a, KeyScope.WRITE))
    before = _fingerprint(b)

    with scopes_disabled():
        their_report = Report.objects.get(tenant=b)
        their_message = InboundMessage.objects.get(tenant=b)
        their_test = SelfTest.objects.create(tenant=b, domain=theirs, report_id="selftest-b")
    targets: dict[str | None, Model] = {"report": their_report, "message": their_message}
    target = targets.get(names, theirs)
    url = (path + QUERIES.get(path, "")).replace("{id}", str(target.pk))
    url = url.replace("{test_id}", str(their_test.pk))
    response = getattr(client, method)(url)

    if names:
        assert response.status_code == 404
    else:  # a list, or an upload without a file (nothing of B's named)
        assert response.status_code == (400 if path.endswith("upload") else 200)
        assert "b.example" not in response.content.decode()
    if path in ("/api/v1/reports", "/api/v1/failures", "/api/v1/inbound"):
        assert response.json()["results"] == []  # tenant A has none; B's are not listed
    if path == "/api/v1/stats/daily":
        assert all(r["successful"] == 0 for r in response.json())
        assert api(key_for(a)).get(f"{path}?domain={theirs.pk}").status_code == 404
    assert _fingerprint(b) == before
    deleted = client.delete(f"/api/v1/domains/{theirs.pk}")
    assert deleted.status_code == 404 and _fingerprint(b) == before


def _fingerprint(tenant: Tenant) -> tuple:
    with scopes_disabled():
        return tuple(
            Domain.objects.filter(tenant=tenant).values_list("name", "verified_at", "checked_at")
        )


def test_reports_list_filters_pages_and_details() -> None:
    acme = make_tenant("acme")
    domain = make_domain(acme, "example.org")
    other = make_domain(acme, "other.example")
    for i in range(3):
        ingest(acme, json.dumps(report_json(domain="example.org", report_id=f"e{i}")).encode())
    ingest(acme, json.dumps(report_json(domain="other.example", report_id="o", failed=0)).encode())
    client = api(key_for(acme))

    everything = client.get(f"{API}/reports").json()
    assert [r["report_id"] for r in everything["results"]] == ["o", "e2", "e1", "e0"]
    by_domain = client.get(f"{API}/reports?domain={domain.pk}&page_size=2").json()
    assert [r["report_id"] for r in by_domain["results"]] == ["e2", "e1"]
    rest = Client(HTTP_AUTHORIZATION=client.defaults["HTTP_AUTHORIZATION"]).get(by_domain["next"])
    assert [r["report_id"] for r in rest.json()["results"]] == ["e0"]
    clean = client.get(f"{API}/reports?has_failures=false").json()["results"]
    assert [r["report_id"] for r in clean] == ["o"]
    assert (
        client.get(f"{API}/reports?domain={other.pk}&result_type=certificate-expired").json()[
            "results"
        ]
        == []
    )
    assert client.get(f"{API}/reports?start=not-a-date").status_code == 400

    report_pk = everything["results"][-1]["id"]
    detail = client.get(f"{API}/reports/{report_pk}").json()
    (policy,) = detail["policies"]
    assert (policy["successful"], policy["failed"], policy["domain"]) == (10, 2, domain.pk)
    assert policy["failure_details"][0]["result_type"] == "certificate-expired"
    raw = client.get(f"{API}/reports/{report_pk}/raw")
    assert json.loads(raw.content)["report-id"] == "e0"


def test_failures_and_breakdowns_with_exact_numbers() -> None:
    acme = make_tenant("acme")
    domain = make_domain(acme, "example.org")
    ingest(acme, json.dumps(report_json(domain="example.org", failed=4)).encode())
    client = api(key_for(acme))

    (row,) = client.get(f"{API}/failures?domain={domain.pk}").json()["results"]
    assert (row["result_type"], row["failed_session_count"], row["day"]) == (
        "certificate-expired", 4, "2026-11-01"
    )  # fmt: skip
    query = f"domain={domain.pk}&from=2026-11-01&to=2026-11-01"
    for by, key in (("result_type", "certificate-expired"), ("receiving_mx", "mx.example.org"),
                    ("organization", "Example Sender"), ("sending_ip", "192.0.2.10")):  # fmt: skip
        rows = client.get(f"{API}/stats/breakdown?by={by}&{query}").json()
        assert rows == [{"key": key, "failed": 4}], by
    assert client.get(f"{API}/stats/breakdown?by=colour&{query}").status_code == 400
    assert client.get(f"{API}/stats/breakdown?by=result_type").status_code == 400


def test_upload_then_read_the_outcome_and_reprocess() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from reports.ingest.messages import message_run

    acme = make_tenant("acme")
    domain = make_domain(acme, "example.org", verified=False)
    writer = api(key_for(acme, KeyScope.WRITE))
    body = json.dumps(report_json(domain="example.org")).encode()
    assert (
        api(key_for(acme))
        .post(f"{API}/inbound/upload", {"file": SimpleUploadedFile("r.json", body)})
        .status_code
        == 403
    )

    created = writer.post(f"{API}/inbound/upload", {"file": SimpleUploadedFile("r.json", body)})
    assert created.status_code == 201
    message_id = created.json()["id"]
    assert created.json()["status"] == "received"
    message_run(message_id=message_id)
    outcome = writer.get(f"{API}/inbound/{message_id}").json()
    assert (outcome["status"], outcome["reports"]) == ("unattributed", [])
    assert "Verify the domain, then reprocess." in outcome["explanation"]

    with scopes_disabled():
        Domain.objects.filter(pk=domain.pk).update(verified_at=timezone.now())
    again = writer.post(f"{API}/inbound/{message_id}/reprocess")
    assert again.status_code == 200 and again.json()["status"] == "received"
    message_run(message_id=message_id)
    done = writer.get(f"{API}/inbound/{message_id}").json()
    assert done["status"] == Status.PROCESSED and len(done["reports"]) == 1
    assert writer.post(f"{API}/inbound/{message_id}/reprocess").status_code == 400

    raw = writer.post(
        f"{API}/inbound/upload", body, content_type="application/json",
        HTTP_CONTENT_DISPOSITION="attachment; filename=raw.json",
    )  # fmt: skip
    assert raw.status_code == 201 and raw.json()["filename"] == "raw.json"
    listed = writer.get(f"{API}/inbound").json()["results"]
    assert [m["filename"] for m in listed] == ["raw.json", "r.json"]


def test_over_the_rate_limit_429_with_retry_after(settings) -> None:
    settings.API_RATE_LIMIT = "3/min"
    acme = make_tenant("acme")
    client, other = api(key_for(acme)), api(key_for(acme))
    statuses = [client.get(f"{API}/tenant").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get(f"{API}/tenant")
    assert limited.json()["error"]["code"] == "throttled"
    assert 0 < int(limited["Retry-After"]) <= 60
    assert other.get(f"{API}/tenant").status_code == 200  # counted per key


def test_a_domain_carries_its_dns_health_with_the_fix() -> None:
    from domains.findings import Finding, Level
    from domains.models import DnsCheck

    acme = make_tenant("acme")
    domain = make_domain(acme, "acme.example")
    broken = Finding(Level.ERROR, "sts_fetch_status", "The policy answered 404.", "Serve it.")
    with scopes_disabled():
        DnsCheck.objects.create(tenant=acme, domain=domain, kind="mta_sts", status="error",
                                findings=[broken.as_dict()])  # fmt: skip
        DnsCheck.objects.create(tenant=acme, domain=domain, kind="mta_sts", status="unknown")
    body = api(key_for(acme)).get(f"{API}/domains/{domain.pk}").json()
    assert [(c["kind"], c["status"]) for c in body["health"]] == [("mta_sts", "error")]
    assert body["health"][0]["findings"] == [broken.as_dict()]
