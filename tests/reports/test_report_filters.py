"""One report filter, one meaning: the reports page and the API list the same reports.

And one period's spelling: ``from``/``to``; the API's old ``start``/``end`` are refused.
"""

import json

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from accounts.models import ApiKey, KeyScope, Tenant
from domains.models import Domain
from tests.factories import make_domain, make_tenant, owner_of
from tests.reports.helpers import ingest
from tests.reports.mail import report_json
from tests.web import fresh_client, login

pytestmark = pytest.mark.django_db


def two_domains(report_id: str, *, day: str, a_failed: int, b_failed: int) -> bytes:
    """One report on a.example and b.example, each with its own figures."""
    doc = report_json(domain="a.example", failed=a_failed, report_id=report_id, day=day)
    other = report_json(domain="b.example", failed=b_failed, policy_type="tlsa", day=day)
    doc["policies"] += other["policies"]
    return json.dumps(doc).encode()


@pytest.fixture
def data() -> tuple[Tenant, Domain, Domain]:
    tenant = make_tenant("acme")
    a, b = make_domain(tenant, "a.example"), make_domain(tenant, "b.example")
    ingest(tenant, two_domains("fails-on-b", day="2026-10-30", a_failed=0, b_failed=3))
    ingest(tenant, two_domains("fails-on-a", day="2026-10-31", a_failed=2, b_failed=0))
    ingest(tenant, two_domains("clean", day="2026-11-01", a_failed=0, b_failed=0))
    only_b = report_json(domain="b.example", report_id="only-b", organization="Other")
    ingest(tenant, json.dumps(only_b).encode())
    return tenant, a, b


def page_ids(client: Client, params: dict) -> list[str]:
    response = client.get(reverse("report_list", args=["acme"]), params)
    return [r.report_id for r in response.context["reports"]]


def api_ids(client: Client, params: dict) -> list[str]:
    response = client.get("/api/v1/reports", params)
    assert response.status_code == 200, response.content
    return [r["report_id"] for r in response.json()["results"]]


# (page's query, the API's, the reports both list): the meaning a user expects.
CASES = [
    ({}, {}, ["only-b", "clean", "fails-on-a", "fails-on-b"]),
    # A result type next to a domain: failures of that type on that domain.
    ({"domain": "a", "result_type": "certificate-expired"},
     {"domain": "a", "result_type": "certificate-expired"}, ["fails-on-a"]),
    # With failures next to a domain: that domain's failed sessions, not the report's.
    ({"domain": "a", "failures": "yes"}, {"domain": "a", "has_failures": "true"},
     ["fails-on-a"]),
    ({"domain": "b", "failures": "yes"}, {"domain": "b", "has_failures": "true"},
     ["only-b", "fails-on-b"]),
    ({"failures": "yes"}, {"has_failures": "true"}, ["only-b", "fails-on-a", "fails-on-b"]),
    ({"domain": "a", "failures": "no"}, {"domain": "a", "has_failures": "false"},
     ["clean", "fails-on-b"]),
    ({"policy_type": "tlsa", "failures": "yes"}, {"policy_type": "tlsa", "has_failures": "true"},
     ["fails-on-b"]),
    ({"organization": "Other"}, {"organization": "Other"}, ["only-b"]),
    ({"domain": "b", "from": "2026-10-31", "to": "2026-11-01"},
     {"domain": "b", "from": "2026-10-31", "to": "2026-11-01"}, ["only-b", "clean", "fails-on-a"]),
    ({"from": "2026-10-31"}, {"from": "2026-10-31"}, ["only-b", "clean", "fails-on-a"]),
]  # fmt: skip


@pytest.mark.parametrize(("page_query", "api_query", "expected"), CASES)
def test_the_page_and_the_api_list_the_same_reports(data, page_query, api_query, expected) -> None:
    tenant, a, b = data
    ids = {"a": str(a.pk), "b": str(b.pk)}
    page_query = {k: ids.get(v, v) if k == "domain" else v for k, v in page_query.items()}
    api_query = {k: ids.get(v, v) if k == "domain" else v for k, v in api_query.items()}
    client = fresh_client()
    login(client, owner_of(tenant))
    secret = ApiKey.objects.create_key(tenant=tenant, name="t", scope=KeyScope.READ)[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert page_ids(client, page_query) == expected
    assert api_ids(api, api_query) == expected


def test_one_domains_pages_walk_the_same_reports_as_the_api(data) -> None:
    tenant, a, _b = data
    for i in range(4):
        ingest(tenant, two_domains(f"more{i}", day="2026-10-29", a_failed=1, b_failed=0))
    client = fresh_client()
    login(client, owner_of(tenant))
    secret = ApiKey.objects.create_key(tenant=tenant, name="t", scope=KeyScope.READ)[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    from reports.dashboards.report_filters import ReportFilters, report_page

    with scope(tenant=tenant):
        first = report_page(ReportFilters(domain=a.pk, failures=True), size=3)
        rest = report_page(ReportFilters(domain=a.pk, failures=True), after=first.more_after)
    walked = [r.report_id for r in first.reports + rest.reports]
    assert walked == api_ids(api, {"domain": a.pk, "has_failures": "true"})
    assert len(walked) == 5 and first.more_after and rest.more_after is None


OLD = [
    ("/api/v1/reports", "start=2026-01-01", "start"),
    ("/api/v1/reports", "end=2026-01-01", "end"),
    ("/api/v1/failures", "start=2026-01-01&end=2026-02-01", "start"),
    ("/api/v1/stats/daily", "start=2026-01-01", "start"),
    ("/api/v1/stats/breakdown", "by=result_type&domain={domain}&end=2026-01-01", "end"),
]


@pytest.mark.parametrize(("path", "query", "old"), OLD)
def test_the_apis_old_spellings_are_refused_naming_from_and_to(data, path, query, old) -> None:
    tenant, a, _b = data
    secret = ApiKey.objects.create_key(tenant=tenant, name="t", scope=KeyScope.READ)[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    response = api.get(f"{path}?{query.format(domain=a.pk)}")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    (message,) = error["fields"][old]
    assert "'from' and 'to'" in message
    assert f"use '{ {'start': 'from', 'end': 'to'}[old] }'" in message


def test_the_api_reads_a_period_as_the_pages_do(data) -> None:
    tenant, a, _b = data
    secret = ApiKey.objects.create_key(tenant=tenant, name="t", scope=KeyScope.READ)[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    bad = api.get(f"/api/v1/stats/daily?domain={a.pk}&from=2026-10-31&to=soon").json()
    assert bad["error"]["fields"] == {"to": ["“soon” is not a date: give dates as YYYY-MM-DD."]}
    backwards = api.get("/api/v1/reports?from=2026-11-01&to=2026-10-01").json()
    assert backwards["error"]["fields"] == {
        "to": ["The period ends (2026-10-01) before it starts (2026-11-01)."]
    }
    days = api.get(f"/api/v1/stats/daily?domain={a.pk}&to=2026-11-01").json()
    assert (len(days), days[0]["day"], days[-1]["day"]) == (30, "2026-10-03", "2026-11-01")
    too_long = api.get("/api/v1/stats/daily?from=2020-01-01&to=2026-11-01")
    assert too_long.json()["error"]["fields"] == {"from": ["The range must be 1 to 731 days."]}
