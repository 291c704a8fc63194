"""The MTA-STS enforcement loop on real-shaped reports: Google's and Microsoft's reports
for karlsen.fr (tests/data/corpus) moved to the days judged, plus generated days (a
failure spike). The loop promotes a ready domain to enforce, ramps its max_age, rolls it
back on a spike and pauses; each change once, as a version by the product, audited and
e-mailed, whatever the number of runs.

Times: the policy's versions are real (``changed_at`` is now); the moment the loop judges
(``at``) is passed to the beat task, so later days are judged without waiting for them.
"""

import json
import re
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.models import AuditEvent, KeyScope, Tenant
from domains.hosting.automatic import auto_state, hosted_policy_promote
from domains.hosting.models import ChangeSource, HostedPolicy, HostedPolicyVersion
from domains.hosting.services import PolicySettings, hosted_policy_update
from domains.models import Domain
from reports.enforcement.loop import enforcement_step
from reports.enforcement.tasks import enforcement_domain_step, loop_policies, run_loop
from tests.api.test_api import api, key_for
from tests.conftest import wait_until
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import ingest
from tests.reports.mail import report_json
from tests.reports.test_readiness import GOOGLE, MICROSOFT, failure, receive, window_days

MX = ["mx.domeneshop.no"]
HOSTING = {"enabled": True, "mode": "testing", "mx": MX, "max_age": 86400}
LOOP_ON = {"auto": {"promote": True, "rollback": True}}
DAY = 86400


@pytest.fixture
def karlsen(acme: Tenant) -> Domain:
    return make_domain(acme, "karlsen.fr", mx_hosts=MX)


def put(domain: Domain, body: dict) -> dict:
    response = api(key_for(domain.tenant, KeyScope.WRITE)).put(
        f"/api/v1/domains/{domain.pk}/mta-sts", body, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def get(domain: Domain) -> dict:
    return api(key_for(domain.tenant)).get(f"/api/v1/domains/{domain.pk}/mta-sts").json()


def backdate(domain: Domain, days: int) -> None:
    """The tenant turned hosting on ``days`` ago: its versions so far move back that far."""
    with scope(tenant=domain.tenant):
        rows = HostedPolicyVersion.objects.filter(hosted_policy__domain=domain)
        for version in rows:
            version.changed_at -= timedelta(days=days)
            version.save(update_fields=["changed_at"])


def versions(domain: Domain) -> list[HostedPolicyVersion]:
    with scope(tenant=domain.tenant):
        rows = HostedPolicyVersion.objects.filter(hosted_policy__domain=domain)
        return list(rows.order_by("changed_at", "pk"))


def automatic(domain: Domain) -> list[tuple[str, int]]:
    return [(v.mode, v.max_age) for v in versions(domain) if v.source == ChangeSource.AUTO]


def policy(domain: Domain) -> HostedPolicy:
    with scope(tenant=domain.tenant):
        return HostedPolicy.objects.get(domain=domain)


def spike(tenant: Tenant, day: datetime, failed: int = 10, sessions: int = 200) -> None:
    """A day on which ``failed`` of ``sessions`` sts sessions failed (certificate-expired)."""
    document = report_json(
        domain="karlsen.fr", successful=sessions - failed, failed=failed,
        organization="Example Sender", day=day.date().isoformat(),
    )  # fmt: skip
    ingest(tenant, json.dumps(document).encode(), "spike.json")


def clean_days(tenant: Tenant, before: datetime) -> None:
    """14 clean days reported by Google and Microsoft before ``before``."""
    receive(tenant, GOOGLE, window_days(before.date()))
    receive(tenant, MICROSOFT, window_days(before.date()))


def run(at: datetime) -> None:
    run_loop.delay(at.isoformat())


@pytest.mark.django_db(transaction=True)
def test_promoted_ramped_rolled_back_once_each_audited_and_emailed(
    acme: Tenant, karlsen: Domain, owner: Client, mail_sink, celery_worker
) -> None:
    put(karlsen, HOSTING)
    backdate(karlsen, 15)
    start = timezone.now()
    clean_days(acme, start)
    assert get(karlsen)["readiness"]["verdict"] == "ready"
    put(karlsen, HOSTING | LOOP_ON)
    first_id = policy(karlsen).policy_id

    run(start)
    wait_until(lambda: len(mail_sink.messages) == 1)
    assert automatic(karlsen) == [("enforce", DAY)]
    promoted = policy(karlsen)
    assert (promoted.mode, promoted.max_age) == ("enforce", DAY)
    assert promoted.policy_id != first_id
    message = mail_sink.messages[0]
    assert message["To"] == "owner@acme.test"
    assert message["Subject"] == "[TLS-RPT] karlsen.fr: MTA-STS promoted to enforce"
    text = message.get_body(("plain",)).get_content()
    assert "Promoted to enforce by the product (No session in the last 14 days" in text
    assert f'"v=STSv1; id={promoted.policy_id}"' in text

    # The job again at the same moment, then a day later: one ramp, no second promotion.
    run(start)
    run(start + timedelta(days=1, hours=1))
    wait_until(lambda: len(mail_sink.messages) == 2)
    assert automatic(karlsen) == [("enforce", DAY), ("enforce", 7 * DAY)]
    assert (
        mail_sink.messages[1]["Subject"] == "[TLS-RPT] karlsen.fr: MTA-STS max_age raised to 604800"
    )

    run(start + timedelta(days=1, hours=1))
    run(start + timedelta(days=8, hours=2))
    wait_until(lambda: len(mail_sink.messages) == 3)
    assert automatic(karlsen) == [("enforce", DAY), ("enforce", 7 * DAY), ("enforce", 30 * DAY)]

    # A failure spike: 10 of 200 sts sessions (5 %) on one day.
    spike(acme, start + timedelta(days=9))
    run(start + timedelta(days=8, hours=2))  # the target reached: nothing more to ramp
    run(start + timedelta(days=10))
    wait_until(lambda: len(mail_sink.messages) == 4)
    rolled = policy(karlsen)
    assert (rolled.mode, rolled.auto_promote, rolled.auto_rollback) == ("testing", False, True)
    assert rolled.policy_id not in {v.policy_id for v in versions(karlsen)[:-1]}
    alert = mail_sink.messages[3]
    assert alert["Subject"] == "[TLS-RPT alert] karlsen.fr: MTA-STS rolled back to testing"
    text = alert.get_body(("plain",)).get_content()
    assert "10 of 200 sessions under the sts policy failed (5.0 %, the threshold is 1 %)" in text
    assert "keep it until its max_age runs out" in text
    loop = get(karlsen)["loop"]
    assert loop["paused"]["reason"].startswith("Rolled back to testing by the product")
    assert loop["last_action"]["policy_id"] == rolled.policy_id

    # Paused: the job again changes nothing, even once the domain is clean again (each
    # domain's step run here, in order, as the worker would).
    run(start + timedelta(days=10))
    later = start + timedelta(days=25)
    clean_days(acme, later)
    assert enforcement_domain_step(rolled.pk, later.isoformat()) == "nothing"
    # A person re-enables promotion through the API: the next run promotes again.
    body = put(karlsen, HOSTING | LOOP_ON)
    assert body["loop"]["paused"] is None
    run(later)
    wait_until(lambda: len(mail_sink.messages) == 5)
    assert automatic(karlsen) == [
        ("enforce", DAY), ("enforce", 7 * DAY), ("enforce", 30 * DAY), ("testing", 30 * DAY),
        ("enforce", DAY),
    ]  # fmt: skip
    with scopes_disabled():
        audited = AuditEvent.objects.filter(tenant=acme, action="mta_sts.hosting_changed")
        by_product = audited.filter(summary__contains="by the product")
        assert by_product.count() == 5
        people: set[tuple[int | None, str]] = set(by_product.values_list("actor", "actor_email"))
        assert people == {(None, "")}

    # Every change is a marker on the dashboard's chart, and listed under it.
    page = owner.get(f"/t/acme/domains/{karlsen.pk}/dashboard/")
    found = re.search(r'id="chart-data"[^>]*>(.*?)</script>', page.text, re.S)
    assert found is not None
    chart = json.loads(found[1])
    marks = [text for texts in chart["policy_changes"].values() for text in texts]
    assert sum("by the product" in t for t in marks) == 5
    assert "by the API" in " ".join(marks)
    assert 'id="policy-changes"' in page.text


@pytest.fixture
def hosted_since(karlsen: Domain) -> Domain:
    """Hosting on in testing for 15 days, the loop on."""
    put(karlsen, HOSTING | LOOP_ON)
    backdate(karlsen, 15)
    return karlsen


def step(domain: Domain, at: datetime | None = None):
    with scope(tenant=domain.tenant):
        return enforcement_step(domain, at or timezone.now())


def enforced(domain: Domain, days_ago: int) -> None:
    """Promoted by the loop ``days_ago`` days ago, after a clean window."""
    result = step(domain)
    assert result.decision.action == "promote"
    backdate(domain, days_ago)


@pytest.mark.django_db
def test_ready_but_not_long_enough_in_testing_is_not_promoted(acme, karlsen) -> None:
    put(karlsen, HOSTING | LOOP_ON)
    backdate(karlsen, 10)
    clean_days(acme, timezone.now())

    assert step(karlsen).decision.action is None
    assert automatic(karlsen) == []


@pytest.mark.django_db
def test_not_ready_is_not_promoted(acme, hosted_since) -> None:
    today = timezone.now().date()
    days = window_days(today)
    receive(acme, GOOGLE, days, {days[3]: {"sts": [failure("certificate-expired", "mx", 3)]}})
    receive(acme, MICROSOFT, days)

    assert step(hosted_since).decision.action is None


@pytest.mark.django_db
def test_without_the_loop_nothing_happens_and_the_sweep_skips_it(acme, karlsen) -> None:
    put(karlsen, HOSTING)
    backdate(karlsen, 15)
    clean_days(acme, timezone.now())
    other = make_tenant("other")
    looped = make_domain(other, "other.test", mx_hosts=["mx.other.test"])
    put(looped, HOSTING | {"mx": ["mx.other.test"]} | LOOP_ON)

    assert step(karlsen).decision.action is None
    assert loop_policies() == [policy(looped).pk]  # every tenant's, only with the loop on


@pytest.mark.django_db
def test_a_small_day_of_a_known_failure_type_does_not_roll_back(acme, hosted_since) -> None:
    now = timezone.now()
    days = window_days(now.date())
    # A person enforced it 3 days ago, knowing of an odd expired certificate before.
    known = {days[2]: {"sts": [failure("certificate-expired", "mx.domeneshop.no", 1)]}}
    receive(acme, GOOGLE, days, known)
    receive(acme, MICROSOFT, days)
    put(hosted_since, HOSTING | {"mode": "enforce"} | LOOP_ON)
    backdate(hosted_since, 3)
    day = now.date() - timedelta(days=2)
    receive(acme, GOOGLE, [day], {day: known[days[2]]})
    # That day 1 of 9 sts sessions failed (11 %), but far fewer than 100 sessions: no spike.

    result = step(hosted_since)
    assert result.decision.action == "ramp"  # its max_age of a day has passed: a week now
    assert policy(hosted_since).mode == "enforce"


@pytest.mark.django_db
def test_a_failure_type_new_since_enforce_rolls_back_even_once(acme, hosted_since) -> None:
    now = timezone.now()
    clean_days(acme, now)
    enforced(hosted_since, 2)
    day = now.date() - timedelta(days=1)
    new = {day: {"sts": [failure("validation-failure", "mx.domeneshop.no", 1)]}}
    receive(acme, GOOGLE, [day], new)

    result = step(hosted_since)
    assert result.decision.action == "rollback"
    assert result.decision.reason == (
        "failures of a type not seen in the 14 days before enforce: validation-failure (1 session)"
    )
    with scope(tenant=acme):
        assert auto_state(policy(hosted_since)).paused
    assert step(hosted_since).decision.action is None  # paused, and in testing


@pytest.mark.django_db
def test_rollback_needs_its_switch(acme, karlsen) -> None:
    put(karlsen, HOSTING | {"auto": {"promote": True, "rollback": False}})
    backdate(karlsen, 15)
    now = timezone.now()
    clean_days(acme, now)
    enforced(karlsen, 0)
    spike(acme, now)

    assert step(karlsen).decision.action is None


@pytest.mark.django_db
def test_a_change_decided_from_a_stale_policy_is_not_made(acme, hosted_since) -> None:
    """Compare-and-set: a person changed the policy between the decision and the write."""
    with scope(tenant=acme):
        stale = policy(hosted_since).policy_id
        hosted_policy_update(
            domain=hosted_since, wanted=PolicySettings(True, "testing", MX, 3600, auto_promote=True,
            auto_rollback=True), actor=None, source=ChangeSource.API,
        )  # fmt: skip
        made = hosted_policy_promote(
            domain=hosted_since, expected_id=stale, max_age=DAY, reason="x"
        )
    assert made is None
    assert automatic(hosted_since) == []


@pytest.mark.django_db
def test_each_change_queues_one_email(
    acme, hosted_since, django_capture_on_commit_callbacks
) -> None:
    clean_days(acme, timezone.now())
    with django_capture_on_commit_callbacks() as first:
        step(hosted_since)
    with django_capture_on_commit_callbacks() as second:
        step(hosted_since)
    assert len(first) == 2  # the served policy refreshed, the e-mail queued
    assert second == []
    assert automatic(hosted_since) == [("enforce", DAY)]


@pytest.mark.django_db
def test_the_page_says_paused_and_why_the_ramp_starts_short(acme, hosted_since, owner) -> None:
    now = timezone.now()
    clean_days(acme, now)
    enforced(hosted_since, 1)
    spike(acme, now)
    assert step(hosted_since).decision.action == "rollback"

    page = owner.get(f"/t/acme/domains/{hosted_since.pk}/mta-sts").text
    assert 'id="loop-paused"' in page and "Paused after a rollback" in page
    assert "Senders keep a cached policy until its max_age runs out" in page
    assert "Save (re-enable promotion)" in page
    assert "publish the new id after each change" in page  # the customer publishes the TXT

    response = owner.post(
        f"/t/acme/domains/{hosted_since.pk}/mta-sts",
        {"loop": "1", "auto_promote": "on", "auto_rollback": "on"},
    )
    assert response.status_code == 302
    with scope(tenant=acme):
        assert not auto_state(policy(hosted_since)).paused
    last = versions(hosted_since)[-1]
    assert (last.source, last.changed_by_email) == ("manual", "owner@acme.test")
