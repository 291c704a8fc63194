"""Readiness to enforce, judged from real-shaped reports: Google's and Microsoft's reports
for karlsen.fr (an MTA-STS policy in testing, tests/data/corpus) moved to the days of the
window, with failure details added where a test needs failures.

The window is the 14 whole UTC days before today; Microsoft reports each session under
both its tlsa and sts policies, as in the corpus.
"""

import copy
import json
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from accounts.models import Tenant
from domains.hosting.models import HostedPolicy
from domains.hosting.readiness import readiness_for
from domains.models import CheckKind, CheckStatus, DnsCheck, Domain
from reports.digests.weekly import digest_build, digest_send, week_of
from reports.readiness.verdicts import Readiness, domain_readiness
from tests.api.test_api import api, key_for
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import corpus, ingest
from tests.reports.test_digest import bodies, plain, section

pytestmark = pytest.mark.django_db

GOOGLE = "google-2026-08-sts-testing-karlsen.json"
MICROSOFT = "microsoft-2026-08-tlsa-and-sts-testing-karlsen.json"
POLICY = "version: STSv1\r\nmode: {mode}\r\nmx: mx.domeneshop.no\r\nmax_age: 86400\r\n"


def shifted(name: str, day: date, failures: dict[str, list[dict]] | None = None) -> bytes:
    """The corpus report moved to ``day``, with failure details added per policy type."""
    document: dict[str, Any] = copy.deepcopy(json.loads(corpus(name)))
    document["date-range"] = {
        "start-datetime": f"{day}T00:00:00Z", "end-datetime": f"{day}T23:59:59Z",
    }  # fmt: skip
    document["report-id"] = f"{day}-{uuid.uuid4()}"
    for policy in document["policies"]:
        added = (failures or {}).get(policy["policy"]["policy-type"], [])
        policy.setdefault("failure-details", []).extend(added)
        policy["summary"]["total-failure-session-count"] += sum(
            f["failed-session-count"] for f in added
        )
    return json.dumps(document).encode()


def failure(result_type: str, mx: str, count: int) -> dict:
    return {
        "result-type": result_type, "sending-mta-ip": "209.85.220.41",
        "receiving-mx-hostname": mx, "receiving-ip": "194.63.248.52",
        "failed-session-count": count,
    }  # fmt: skip


def window_days(today: date, count: int = 14) -> list[date]:
    """The ``count`` report days before ``today``, oldest first."""
    return [today - timedelta(days=n) for n in range(count, 0, -1)]


def receive(tenant: Tenant, name: str, days: list[date], extra: dict | None = None) -> None:
    """One report from the corpus file per day; ``extra``: failures of some days."""
    for day in days:
        ingest(tenant, shifted(name, day, (extra or {}).get(day)), f"{day}.json")


def hosted(domain: Domain, mode: str = "testing") -> None:
    with scope(tenant=domain.tenant):
        HostedPolicy.objects.create(
            tenant=domain.tenant, domain=domain, enabled=True, mode=mode,
            mx=["mx.domeneshop.no"], max_age=86400, policy_id="20261201000000",
        )  # fmt: skip


def published(domain: Domain, mode: str) -> None:
    """What the MTA-STS health check stores after fetching the domain's policy."""
    with scope(tenant=domain.tenant):
        DnsCheck.objects.create(
            tenant=domain.tenant, domain=domain, kind=CheckKind.MTA_STS,
            status=CheckStatus.WARNING, records={"policy": POLICY.format(mode=mode)},
        )  # fmt: skip


@pytest.fixture
def today() -> date:
    return timezone.now().date()


@pytest.fixture
def karlsen(acme: Tenant) -> Domain:
    return make_domain(acme, "karlsen.fr", mx_hosts=["mx.domeneshop.no"])


@pytest.fixture
def clean(acme: Tenant, karlsen: Domain, today: date) -> Domain:
    """14 clean days reported by Google and Microsoft, the policy hosted in testing."""
    hosted(karlsen)
    receive(acme, GOOGLE, window_days(today))
    receive(acme, MICROSOFT, window_days(today))
    return karlsen


def verdict_of(domain: Domain, today: date | None = None) -> Readiness:
    with scope(tenant=domain.tenant):
        return domain_readiness(domain, today=today)


def expired_on_three_days(today: date) -> tuple[dict, dict]:
    """certificate-expired at mx2.karlsen.fr: Google on three days, Microsoft on one."""
    days = window_days(today)
    google = {days[3]: {"sts": [failure("certificate-expired", "mx2.karlsen.fr", 12)]},
              days[4]: {"sts": [failure("certificate-expired", "mx2.karlsen.fr", 10)]},
              days[9]: {"sts": [failure("certificate-expired", "mx2.karlsen.fr", 9)]}}  # fmt: skip
    microsoft = {days[4]: {"sts": [failure("certificate-expired", "mx2.karlsen.fr", 10)]}}
    return google, microsoft


def test_ready_after_fourteen_clean_days_from_two_reporters(clean: Domain, today: date) -> None:
    found = verdict_of(clean)

    assert found.verdict == "ready"
    assert (found.window.start, found.window.end) == (today - timedelta(14), today - timedelta(1))
    assert found.coverage.organizations == ["Microsoft Corporation", "Google Inc."]
    assert found.coverage.sessions == 14 * 4 + 14 * 2
    assert found.coverage.days_with_reports == 14
    assert found.evidence == []
    assert found.summary == (
        "No session in the last 14 days would have failed under enforce; 2 reporters "
        "(Microsoft Corporation and Google Inc.) reported 84 sessions on 14 of 14 days."
    )


def test_not_ready_with_the_evidence_per_mx_type_and_reporter(
    acme: Tenant, karlsen: Domain, today: date
) -> None:
    hosted(karlsen)
    google, microsoft = expired_on_three_days(today)
    days = window_days(today)
    google[days[6]] = {"sts": [failure("starttls-not-supported", "mx.domeneshop.no", 2)]}
    receive(acme, GOOGLE, days, google)
    receive(acme, MICROSOFT, days, microsoft)

    found = verdict_of(karlsen)

    assert found.verdict == "not_ready"
    assert [e.text for e in found.evidence] == [
        "mx2.karlsen.fr: certificate-expired on 3 of 14 days, seen by Google Inc. and "
        "Microsoft Corporation, 41 sessions",
        "mx.domeneshop.no: starttls-not-supported on 1 of 14 days, seen by Google Inc., 2 sessions",
    ]
    assert {r.organization: r.would_fail for r in found.coverage.reporters} == {
        "Google Inc.": 33, "Microsoft Corporation": 10,
    }  # fmt: skip
    assert found.summary.startswith("43 sessions in the last 14 days would have failed")


def test_a_failure_outside_the_window_does_not_count(clean: Domain, today: date) -> None:
    old = today - timedelta(days=15)
    ingest(clean.tenant, shifted(GOOGLE, old, {"sts": [failure("certificate-expired", "mx", 5)]}))

    assert verdict_of(clean).verdict == "ready"
    assert verdict_of(clean, today=today - timedelta(days=1)).verdict == "not_ready"


def test_not_enough_data_with_one_reporter(acme: Tenant, karlsen: Domain, today: date) -> None:
    hosted(karlsen)
    receive(acme, GOOGLE, window_days(today))

    found = verdict_of(karlsen)

    assert found.verdict == "not_enough_data"
    assert "only" not in found.summary
    assert "1 reporter (Google Inc.) reported 28 sessions on 14 of 14 days" in found.summary


def test_not_enough_data_with_five_days(acme: Tenant, karlsen: Domain, today: date) -> None:
    hosted(karlsen)
    receive(acme, GOOGLE, window_days(today, 5))
    receive(acme, MICROSOFT, window_days(today, 5))

    found = verdict_of(karlsen)

    assert (found.verdict, found.coverage.days_with_reports) == ("not_enough_data", 5)


def test_dane_failures_are_not_about_mta_sts(acme: Tenant, karlsen: Domain, today: date) -> None:
    hosted(karlsen)
    days = window_days(today)
    dane = {"tlsa": [failure("tlsa-invalid", "mx.domeneshop.no", 4),
                     failure("certificate-expired", "mx.domeneshop.no", 3)]}  # fmt: skip
    receive(acme, GOOGLE, days)
    receive(acme, MICROSOFT, days, {day: dane for day in days[:5]})

    found = verdict_of(karlsen)

    assert found.verdict == "ready"
    assert found.evidence == [] and found.notes == []


def test_policy_fetch_errors_block_readiness_and_are_listed_apart(
    clean: Domain, today: date
) -> None:
    day = today - timedelta(days=2)
    fetch = {"sts": [failure("sts-policy-fetch-error", "", 6)]}
    ingest(clean.tenant, shifted(GOOGLE, day, fetch), "fetch.json")

    found = verdict_of(clean)

    assert found.verdict == "not_ready" and found.evidence == []
    assert [e.text for e in found.notes] == [
        "(no MX named): sts-policy-fetch-error on 1 of 14 days, seen by Google Inc., 6 sessions"
    ]
    assert found.summary.startswith("The MTA-STS policy did not reach every sender")


def test_the_published_policy_mode_comes_from_the_health_check(acme: Tenant, today: date) -> None:
    testing, enforcing = make_domain(acme, "karlsen.fr"), make_domain(acme, "other.example")
    published(testing, "testing")
    published(enforcing, "enforce")
    receive(acme, GOOGLE, window_days(today))
    receive(acme, MICROSOFT, window_days(today))

    found = verdict_of(testing)
    assert found.verdict == "ready"
    assert found.mode is not None and found.mode.source == "published"
    found = verdict_of(enforcing)
    assert found.verdict == "not_testing"
    assert found.summary == (
        "The published MTA-STS policy is in enforce mode: readiness is judged for a policy "
        "in testing mode."
    )


def test_not_testing_when_hosted_in_enforce_or_without_a_policy(
    acme: Tenant, karlsen: Domain, today: date
) -> None:
    receive(acme, GOOGLE, window_days(today))
    assert verdict_of(karlsen).verdict == "not_testing"
    assert verdict_of(karlsen).summary.startswith("No MTA-STS policy found")

    hosted(karlsen, "enforce")
    assert verdict_of(karlsen).verdict == "not_testing"


def test_the_card_shows_the_verdict_and_evidence(
    owner: Client, acme: Tenant, karlsen: Domain, today: date
) -> None:
    hosted(karlsen)
    google, microsoft = expired_on_three_days(today)
    receive(acme, GOOGLE, window_days(today), google)
    receive(acme, MICROSOFT, window_days(today), microsoft)
    path = f"/t/acme/domains/{karlsen.pk}/readiness/"

    fragment = owner.get(path, HTTP_HX_REQUEST="true").content.decode()
    page = owner.get(path).content.decode()

    line = (
        "mx2.karlsen.fr: certificate-expired on 3 of 14 days, seen by Google Inc. and "
        "Microsoft Corporation, 41 sessions"
    )
    assert 'data-verdict="not_ready"' in fragment and line in fragment
    assert "<html" not in fragment and "<html" in page and line in page


def test_the_domain_page_and_dashboard_load_the_card(owner: Client, karlsen: Domain) -> None:
    card = f'hx-get="/t/acme/domains/{karlsen.pk}/readiness/"'
    for page in ("", "dashboard/"):
        assert card in owner.get(f"/t/acme/domains/{karlsen.pk}/{page}").content.decode()


def test_another_tenants_domain_is_404(owner: Client) -> None:
    other = make_domain(make_tenant("beta"), "beta.example")
    hosted(other)

    response = owner.get(f"/t/acme/domains/{other.pk}/readiness/", HTTP_HX_REQUEST="true")

    assert response.status_code == 404


def test_the_api_answers_the_verdict(clean: Domain, today: date) -> None:
    body = api(key_for(clean.tenant)).get(f"/api/v1/domains/{clean.pk}/mta-sts").json()

    readiness = body["readiness"]
    assert readiness["verdict"] == "ready"
    assert readiness["window"] == {
        "start": str(today - timedelta(14)), "end": str(today - timedelta(1)), "days": 14,
    }  # fmt: skip
    assert readiness["coverage"]["sessions"] == 84
    assert [r["organization"] for r in readiness["coverage"]["reporters"]] == [
        "Microsoft Corporation", "Google Inc.",
    ]  # fmt: skip
    with scope(tenant=clean.tenant):
        assert readiness == readiness_for(clean)


def test_the_digest_has_a_line_per_domain_in_testing(
    acme: Tenant, karlsen: Domain, today: date, mail_sink
) -> None:
    week = week_of(today - timedelta(days=7))
    after = week.end + timedelta(days=1)
    hosted(karlsen)
    google, microsoft = expired_on_three_days(after)
    receive(acme, GOOGLE, window_days(after), google)
    receive(acme, MICROSOFT, window_days(after), microsoft)
    quiet = make_domain(acme, "quiet.example")

    with scope(tenant=acme):
        digest = digest_build(tenant=acme, week_start=week.start)
        digest_send(tenant=acme, week_start=week.start)

    rows = {d.name: d for d in digest.domains}
    assert rows[quiet.name].readiness is None
    found = rows["karlsen.fr"].readiness
    assert found is not None and found.verdict == "not_ready"
    line = (
        "mx2.karlsen.fr: certificate-expired on 3 of 14 days, seen by Google Inc. and "
        "Microsoft Corporation, 41 sessions"
    )
    assert rows["karlsen.fr"].readiness_evidence == [line]
    text, html = bodies(mail_sink.messages[0])
    assert (
        "MTA-STS readiness to enforce: Not ready to enforce. 41 sessions in the last 14 days "
        f"would have failed under enforce; 2 reporters (Microsoft Corporation and Google Inc.) "
        f"reported 125 sessions on 14 of 14 days.\n- {line}\n"
    ) in section(text, "karlsen.fr")
    assert "MTA-STS readiness" not in section(text, "quiet.example")
    assert "✖ Not ready to enforce: 41 sessions in the last 14 days" in plain(html)
    assert line in plain(html)
