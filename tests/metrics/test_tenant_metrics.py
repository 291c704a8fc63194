"""A tenant's Prometheus metrics (``GET /api/v1/metrics``): read by prometheus_client's own
parser, the same numbers as the API's stats, only the key's tenant, one query per family."""

import json
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from accounts.models import ApiKey, KeyScope, Role, Tenant
from domains.models import CheckKind, CheckStatus, DnsCheck
from reports.metrics.answers import exposition
from reports.metrics.tasks import refresh as refresh_metrics
from reports.metrics.tenant import RECENT_DAYS, TenantCollector
from reports.models import Alert, AlertKind
from reports.readiness.verdicts import domain_readiness
from tests.api.test_api import api, key_for
from tests.factories import make_domain, make_member, make_tenant
from tests.metrics.scrape import Samples, by_label, parse, value
from tests.reports.helpers import ingest
from tests.reports.mail import report_json
from tests.reports.test_readiness import GOOGLE, MICROSOFT, failure, hosted, published, shifted

pytestmark = pytest.mark.django_db
METRICS = "/api/v1/metrics"


def scrape(client: Client, accept: str = "*/*") -> Samples:
    response = client.get(METRICS, headers={"Accept": accept})
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse(response.content.decode())


def both_policies(domain: str, day: str, successful: int, failed: int) -> bytes:
    """Microsoft's shape: the same sessions reported under a tlsa and an sts policy."""
    document = report_json(domain=domain, day=day, successful=successful, failed=failed)
    tlsa = json.loads(json.dumps(document["policies"][0]))
    tlsa["policy"]["policy-type"] = "tlsa"
    tlsa["failure-details"][0]["result-type"] = "tlsa-invalid"
    document["policies"].append(tlsa)
    return json.dumps(document).encode()


def test_sessions_and_failures_equal_the_apis_stats_for_each_domain() -> None:
    acme = make_tenant("acme")
    one, two = make_domain(acme, "one.example"), make_domain(acme, "two.example")
    today = timezone.now().date()
    for n in range(3):
        day = f"{today - timedelta(days=n + 1)}"
        ingest(acme, json.dumps(report_json(domain="one.example", day=day, failed=n)).encode())
    ingest(acme, both_policies("two.example", f"{today - timedelta(days=2)}", 40, 4))
    client = api(key_for(acme))
    samples = scrape(client)

    start = today - timedelta(days=30)
    for domain in (one, two):
        query = f"domain={domain.pk}&from={start}&to={today}"
        days = client.get(f"/api/v1/stats/daily?{query}").json()
        ok = value(samples, "tlsrpt_domain_successful_sessions_total", domain=domain.name)
        failed = value(samples, "tlsrpt_domain_failed_sessions_total", domain=domain.name)
        assert ok == sum(d["successful"] for d in days) > 0
        assert failed == sum(d["failed"] for d in days) > 0
        breakdown = client.get(f"/api/v1/stats/breakdown?by=result_type&{query}").json()
        shown = by_label(samples, "tlsrpt_failures_total", "result_type", domain=domain.name)
        assert {k: v for k, v in shown.items() if v} == {r["key"]: r["failed"] for r in breakdown}
    # Per policy type, two.example's sessions show under both policies it was reported under.
    per_policy = by_label(
        samples, "tlsrpt_policy_failed_sessions_total", "policy_type", domain="two.example"
    )
    assert per_policy == {"sts": 4, "tlsa": 4}
    assert value(samples, "tlsrpt_domain_failed_sessions_total", domain="two.example") == 4


def test_another_tenants_domains_and_figures_never_appear() -> None:
    acme, other = make_tenant("acme"), make_tenant("other")
    make_domain(acme, "mine.example")
    theirs = make_domain(other, "theirs.example")
    ingest(other, json.dumps(report_json(domain="theirs.example", failed=7)).encode())
    with scope(tenant=other):
        Alert.objects.create(
            tenant=other, domain=theirs, kind=AlertKind.FAILURE_RATE, title="t", message="m"
        )

    body = api(key_for(acme)).get(METRICS).content.decode()

    assert "theirs.example" not in body
    samples = parse(body)
    assert value(samples, "tlsrpt_domain_failed_sessions_total", domain="mine.example") == 0
    assert {dict(labels).get("domain") for _, labels in samples} <= {"mine.example", None}


@pytest.mark.parametrize("key_scope", [KeyScope.READ, KeyScope.WRITE])
def test_a_read_or_write_key_scrapes_with_what_prometheus_accepts(key_scope: KeyScope) -> None:
    acme = make_tenant("acme")
    make_domain(acme, "example.org")
    client = api(key_for(acme, key_scope))
    prometheus_accept = (
        "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    )
    for accept in (prometheus_accept, "text/plain", "*/*"):
        samples = scrape(client, accept)
        assert value(samples, "tlsrpt_domain_verified", domain="example.org") == 1


def test_without_a_key_or_with_a_revoked_one_nothing_is_shown() -> None:
    acme = make_tenant("acme")
    make_domain(acme, "example.org")
    secret = key_for(acme)
    assert api().get(METRICS).status_code == 401
    assert api("not-a-key").get(METRICS, HTTP_ACCEPT="text/plain").status_code == 401
    ApiKey.objects.filter(tenant=acme).update(revoked=True)
    response = api(secret).get(METRICS)
    assert response.status_code == 401 and b"example.org" not in response.content


def test_a_viewer_with_a_session_may_scrape_an_outsider_may_not() -> None:
    acme, other = make_tenant("acme"), make_tenant("other")
    make_domain(acme, "example.org")
    viewer = Client()
    viewer.force_login(make_member(acme, Role.VIEWER).user)
    assert b"example.org" in viewer.get(f"{METRICS}?tenant=acme").content
    outsider = Client()
    outsider.force_login(make_member(other, Role.OWNER, email="o@other.test").user)
    assert outsider.get(f"{METRICS}?tenant=acme").status_code == 404


def test_reporters_alerts_and_dns_checks_are_labelled_by_domain() -> None:
    acme = make_tenant("acme")
    domain = make_domain(acme, "example.org")
    day = date(2026, 11, 1)
    ingest(acme, json.dumps(report_json(domain="example.org", day=f"{day}")).encode())
    ingest(acme, json.dumps(report_json(domain="example.org", day=f"{day - timedelta(3)}",
                                        organization="Other Sender")).encode())  # fmt: skip
    now = timezone.now()
    with scope(tenant=acme):
        for kind, status, age in [
            (CheckKind.MX, CheckStatus.ERROR, 2), (CheckKind.MX, CheckStatus.OK, 1),
            (CheckKind.MX, CheckStatus.UNKNOWN, 0), (CheckKind.TLSRPT, CheckStatus.WARNING, 1),
        ]:  # fmt: skip
            DnsCheck.objects.create(tenant=acme, domain=domain, kind=kind, status=status,
                                    checked_at=now - timedelta(hours=age))  # fmt: skip
        for key in ("a", "b"):
            Alert.objects.create(tenant=acme, domain=domain, kind=AlertKind.REPORTER_SILENT,
                                 key=key, title="t", message="m")  # fmt: skip
        Alert.objects.create(tenant=acme, domain=domain, kind=AlertKind.FAILURE_RATE,
                             title="t", message="m", resolved_at=now)  # fmt: skip

    samples = scrape(api(key_for(acme)))

    last = by_label(samples, "tlsrpt_reporter_last_report_day_timestamp_seconds", "reporter")
    assert last == {
        "Example Sender": 1793491200.0,  # 2026-11-01T00:00:00Z
        "Other Sender": 1793491200.0 - 3 * 86400,
    }
    assert by_label(samples, "tlsrpt_open_alerts", "kind") == {"reporter_silent": 2}
    # The latest definitive check of each kind: an answer of "unknown" changes nothing.
    assert by_label(samples, "tlsrpt_dns_check_status", "status", kind="mx") == {"ok": 1}
    assert by_label(samples, "tlsrpt_dns_check_status", "status", kind="tlsrpt") == {"warning": 1}


def _as(domain: str, raw: bytes) -> bytes:
    return raw.replace(b"karlsen.fr", domain.encode())


def test_readiness_is_the_readiness_pages_verdict_for_every_domain(acme: Tenant) -> None:
    today = timezone.now().date()
    days = [today - timedelta(days=n) for n in range(14, 0, -1)]
    domains = {
        name: make_domain(acme, name, mx_hosts=["mx.domeneshop.no"])
        for name in ("ready.example", "blocked.example", "few.example", "enforced.example",
                     "nothing.example")
    }  # fmt: skip
    hosted(domains["ready.example"])
    hosted(domains["blocked.example"])
    published(domains["few.example"], "testing")
    hosted(domains["enforced.example"], mode="enforce")
    for day in days:
        for name in ("ready.example", "enforced.example"):
            ingest(acme, _as(name, shifted(GOOGLE, day)))
            ingest(acme, _as(name, shifted(MICROSOFT, day)))
        added = {"sts": [failure("certificate-expired", "mx.domeneshop.no", 3)]}
        blocking = added if day == days[5] else None
        ingest(acme, _as("blocked.example", shifted(GOOGLE, day, blocking)))
    for day in days[-3:]:
        ingest(acme, _as("few.example", shifted(GOOGLE, day)))

    samples = scrape(api(key_for(acme)))

    shown = {}
    for name, domain in domains.items():
        verdicts = by_label(samples, "tlsrpt_enforce_readiness", "verdict", domain=name)
        ((shown[name], on),) = verdicts.items()  # one sample: the current verdict, 1
        assert on == 1
        with scope(tenant=acme):
            assert shown[name] == domain_readiness(domain).verdict, name
    assert set(shown.values()) == {"ready", "not_ready", "not_enough_data", "not_testing"}


def test_a_scrape_is_kept_a_while_for_its_tenant_only(settings, django_assert_num_queries):
    settings.METRICS_CACHE_SECONDS = 60
    acme, other = make_tenant("acme"), make_tenant("other")
    make_domain(acme, "mine.example")
    make_domain(other, "theirs.example")
    ingest(acme, json.dumps(report_json(domain="mine.example", failed=3)).encode())
    mine = api(key_for(acme, last_used_at=timezone.now()))
    first = mine.get(METRICS).content

    ingest(acme, json.dumps(report_json(domain="mine.example", failed=5)).encode())
    with django_assert_num_queries(2):  # the key and its tenant; no figure is read again
        assert mine.get(METRICS).content == first
    theirs = api(key_for(other)).get(METRICS).content.decode()
    assert "theirs.example" in theirs and "mine.example" not in theirs


def test_without_the_cache_a_new_report_shows_at_once(settings) -> None:
    settings.METRICS_CACHE_SECONDS = 0
    acme = make_tenant("acme")
    make_domain(acme, "mine.example")
    client = api(key_for(acme))
    ingest(acme, json.dumps(report_json(domain="mine.example", failed=3)).encode())
    assert value(scrape(client), "tlsrpt_domain_failed_sessions_total", domain="mine.example") == 3
    ingest(acme, json.dumps(report_json(domain="mine.example", failed=5)).encode())
    assert value(scrape(client), "tlsrpt_domain_failed_sessions_total", domain="mine.example") == 8


def test_older_days_are_summed_once_an_hour_and_recent_days_every_scrape(settings) -> None:
    settings.METRICS_CACHE_SECONDS = 60
    acme = make_tenant("acme")
    domain = make_domain(acme, "mine.example")
    today = timezone.now().date()

    def failed() -> float:
        with scope(tenant=acme):
            body = exposition(TenantCollector([domain], acme.pk)).decode()
        return value(parse(body), "tlsrpt_domain_failed_sessions_total", domain="mine.example")

    def report(days_ago: int, n: int) -> None:
        day = (today - timedelta(days=days_ago)).isoformat()
        ingest(acme, json.dumps(report_json(domain="mine.example", day=day, failed=n)).encode())

    report(30, 3)
    report(2, 5)
    assert failed() == 8
    report(1, 1)  # a recent day: read by every scrape
    assert failed() == 9
    report(40, 2)  # a late report for an older day: in the sums kept for the hour
    assert failed() == 9
    cutoff = (today - timedelta(days=RECENT_DAYS)).isoformat()
    cache.delete_many(
        [f"tlsrpt:metrics:history:{k}:{acme.pk}:{cutoff}" for k in ("stats", "failures")]
    )
    assert failed() == 11


def test_a_kept_answer_is_served_at_once_and_refreshed_behind_it(
    settings, django_capture_on_commit_callbacks
) -> None:
    settings.METRICS_CACHE_SECONDS = 60
    acme = make_tenant("acme")
    make_domain(acme, "mine.example")
    client = api(key_for(acme))
    day = timezone.now().date().isoformat()

    def failed() -> float:
        return value(scrape(client), "tlsrpt_domain_failed_sessions_total", domain="mine.example")

    ingest(acme, json.dumps(report_json(domain="mine.example", day=day, failed=3)).encode())
    assert failed() == 3  # none kept: computed by the scrape
    ingest(acme, json.dumps(report_json(domain="mine.example", day=day, failed=5)).encode())
    with django_capture_on_commit_callbacks() as queued:
        assert failed() == 3  # kept, and young: nothing queued
    assert queued == []

    key = f"tlsrpt:metrics:tenant:{acme.pk}"
    computed_at, body = cache.get(key)
    cache.set(key, (computed_at - 61, body), 3600)  # a minute has passed
    with django_capture_on_commit_callbacks() as queued:
        assert failed() == 3  # the kept answer at once, and one refresh queued
        assert failed() == 3  # a refresh is on its way: not a second one
    assert len(queued) == 1

    refresh_metrics(acme.pk)  # what the queued task does
    assert failed() == 8
