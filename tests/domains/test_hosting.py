"""Hosted MTA-STS policies: the policy text, versions and ids, audit, the page, the DNS check."""

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from accounts.models import AuditEvent, Role, Tenant
from domains.checks import domain_health_check
from domains.hosting.models import ChangeSource, HostedPolicy, HostedPolicyVersion
from domains.hosting.policy import (
    PolicyContent,
    PolicyError,
    mx_coverage,
    mx_pattern_normalize,
    policy_id_for,
    policy_text,
)
from domains.hosting.services import PolicySettings, hosted_policy_update
from domains.models import Domain
from domains.stspolicy import parse_sts_policy
from tests.domains.zones import publish_good
from tests.factories import make_domain, make_member, owner_of
from tests.web import fresh_client, login

pytestmark = pytest.mark.django_db


def settings_of(**changes: object) -> PolicySettings:
    values: dict = {"enabled": True, "mode": "testing", "mx": ["mx1.acme.test"], "max_age": 86400}
    return PolicySettings(**values | changes)


def update(domain: Domain, actor=None, **changes: object) -> HostedPolicy:
    with scope(tenant=domain.tenant_id):
        return hosted_policy_update(
            domain=domain, wanted=settings_of(**changes), actor=actor,
            source=ChangeSource.MANUAL if actor else ChangeSource.API,
        )  # fmt: skip


@pytest.fixture
def domain(acme: Tenant) -> Domain:
    return make_domain(acme, "acme.test", mx_hosts=["mx1.acme.test", "mx2.acme.test"])


# --- the policy file --------------------------------------------------------------------


def test_the_policy_text_is_exactly_rfc_8461s_format() -> None:
    text = policy_text(PolicyContent("enforce", ("mx1.example.com", "*.mx.example.com"), 604800))
    assert text.encode() == (
        b"version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\n"
        b"mx: *.mx.example.com\r\nmax_age: 604800\r\n"
    )


@pytest.mark.parametrize("mode", ["none", "testing", "enforce"])
def test_the_policy_text_reads_back_through_our_own_parser(mode: str) -> None:
    content = PolicyContent(mode, ("mx1.example.com", "*.mail.example.com"), 86400)
    parsed = parse_sts_policy(policy_text(content))
    assert (parsed.version, parsed.mode, parsed.mx, parsed.max_age, parsed.extensions) == (
        "STSv1", mode, content.mx, 86400, {},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("given", "normalised"),
    [("MX1.Example.COM.", "mx1.example.com"), ("*.mail.example.com", "*.mail.example.com"),
     ("bücher.example", "xn--bcher-kva.example")],
)  # fmt: skip
def test_mx_patterns_are_normalised(given: str, normalised: str) -> None:
    assert mx_pattern_normalize(given) == normalised


@pytest.mark.parametrize(
    "bad", ["*.com.*", "mx*.example.com", "https://mx.example.com", "192.0.2.1", "mx", "a b.com",
            "*example.com", "**.example.com", "mx..example.com"],
)  # fmt: skip
def test_what_is_not_a_host_name_or_wildcard_is_refused(bad: str) -> None:
    with pytest.raises(PolicyError) as e:
        mx_pattern_normalize(bad)
    assert e.value.code == "mx_invalid"


def test_a_wildcard_covers_exactly_one_more_label() -> None:
    coverage = mx_coverage(
        ["*.example.com", "mx.other.test"],
        ["a.example.com", "a.b.example.com", "example.com", "mx.other.test"],
    )
    assert coverage.uncovered_hosts == ("a.b.example.com", "example.com")
    assert coverage.unused_patterns == ()
    assert mx_coverage(["gone.example.com"], ["mx.example.com"]).unused_patterns == (
        "gone.example.com",
    )


def test_policy_ids_are_the_utc_time_and_stay_unique_within_a_second() -> None:
    moment = datetime(2026, 12, 5, 7, 30, tzinfo=UTC)
    first = policy_id_for(moment, set())
    second = policy_id_for(moment, {first})
    third = policy_id_for(moment, {first, second})
    assert first == "20261205073000"
    assert len({first, second, third}) == 3
    assert all(i.isalnum() and 1 <= len(i) <= 32 for i in (first, second, third))


# --- versions, ids and audit -----------------------------------------------------------


def test_each_change_is_a_version_with_a_new_id_and_an_audit_event(domain: Domain) -> None:
    owner = owner_of(domain.tenant)
    first = update(domain, owner)
    first_id = first.policy_id
    second = update(domain, owner, mode="enforce", mx=["mx1.acme.test", "*.acme.test"])
    assert second.policy_id != first_id  # two changes in the same second: still distinct
    with scopes_disabled():
        versions = list(HostedPolicyVersion.objects.order_by("pk"))
        events = list(AuditEvent.objects.filter(action="mta_sts.hosting_changed").order_by("pk"))
    assert [v.policy_id for v in versions] == [first_id, second.policy_id]
    assert [(v.changed_by, v.source) for v in versions] == [(owner, "manual")] * 2
    assert "mode testing → enforce" in versions[1].summary
    assert "mx +*.acme.test" in versions[1].summary
    assert len(events) == 2
    assert events[1].actor == owner
    assert second.policy_id in events[1].summary


def test_a_save_that_changes_nothing_writes_nothing(domain: Domain) -> None:
    update(domain)
    update(domain)
    with scopes_disabled():
        assert HostedPolicyVersion.objects.count() == 1


def test_settings_alone_keep_the_policy_id(domain: Domain) -> None:
    first = update(domain).policy_id
    policy = update(domain, auto_promote=True)
    assert policy.policy_id == first
    turned_off = update(domain, enabled=False, auto_promote=True)
    assert turned_off.policy_id == first
    assert update(domain, enabled=True, auto_promote=True).policy_id != first


def test_an_api_change_is_recorded_without_a_person(domain: Domain) -> None:
    update(domain)
    with scopes_disabled():
        version = HostedPolicyVersion.objects.get()
    assert (version.changed_by, version.changed_by_email, version.source) == (None, "", "api")


@pytest.mark.parametrize(
    ("changes", "code"),
    [({"mx": ["not a host"]}, "mx_invalid"), ({"mx": []}, "mx_missing"),
     ({"max_age": 0}, "max_age_invalid"), ({"max_age": 31557601}, "max_age_invalid"),
     ({"mode": "strict"}, "mode_invalid"), ({"txt_mode": "hosted"}, "txt_mode_unavailable")],
)  # fmt: skip
def test_invalid_settings_are_refused_and_nothing_is_written(
    domain: Domain, changes: dict, code: str
) -> None:
    with pytest.raises(PolicyError) as e:
        update(domain, **changes)
    assert e.value.code == code
    with scopes_disabled():
        assert not HostedPolicy.objects.exists()


def test_mode_none_needs_no_mx(domain: Domain) -> None:
    policy = update(domain, mode="none", mx=[])
    assert policy.mx == []


def test_an_unverified_domain_cannot_be_hosted(acme: Tenant) -> None:
    pending = make_domain(acme, "pending.test", verified=False)
    with pytest.raises(PolicyError) as e:
        update(pending)
    assert e.value.code == "domain_not_verified"


# --- the page ------------------------------------------------------------------------------


def page(domain: Domain) -> str:
    return reverse("domain_mta_sts", kwargs={"slug": domain.tenant.slug, "pk": domain.pk})


def test_the_page_prefills_the_mx_hosts_and_warns_of_uncovered_ones(
    owner: Client, domain: Domain
) -> None:
    response = owner.get(page(domain))
    body = response.content.decode()
    assert "mx1.acme.test\nmx2.acme.test" in body  # the form's textarea, from the MX hosts
    update(domain, mx=["mx1.acme.test", "gone.acme.test"])
    body = owner.get(page(domain)).content.decode()
    assert 'id="mx-uncovered"' in body and "mx2.acme.test" in body
    assert 'id="mx-unused"' in body and "gone.acme.test" in body


def test_mode_none_warns_of_no_uncovered_host(owner: Client, domain: Domain) -> None:
    update(domain, mode="none", mx=[])
    assert 'id="mx-uncovered"' not in owner.get(page(domain)).content.decode()


def test_an_admin_saves_a_version_and_sees_what_to_publish(
    owner: Client, domain: Domain, settings
) -> None:
    settings.HOSTED_MTA_STS_TARGET = "tlsrpt.example.net"
    data = {"enabled": "on", "mode": "testing", "mx": "mx1.acme.test\r\n*.acme.test",
            "max_age": "86400", "txt_mode": "customer"}  # fmt: skip
    response = owner.post(page(domain), data)
    assert response.status_code == 302
    with scope(tenant=domain.tenant_id):
        policy = HostedPolicy.objects.get(domain=domain)
    assert policy.mx == ["mx1.acme.test", "*.acme.test"]
    body = owner.get(page(domain)).content.decode()
    assert f"v=STSv1; id={policy.policy_id}" in body
    assert "mta-sts.acme.test" in body and "tlsrpt.example.net" in body
    assert "https://mta-sts.acme.test/.well-known/mta-sts.txt" in body
    assert "version: STSv1\r\nmode: testing\r\nmx: mx1.acme.test\r\nmx: *.acme.test" in body
    assert owner_of(domain.tenant).email in body  # the history says who
    assert "<script>" not in body and " onclick=" not in body


def test_the_page_shows_a_bad_pattern_and_saves_nothing(owner: Client, domain: Domain) -> None:
    data = {"enabled": "on", "mode": "enforce", "mx": "mx1.acme.test\r\nhttp://x",
            "max_age": "86400", "txt_mode": "customer"}  # fmt: skip
    response = owner.post(page(domain), data)
    assert response.status_code == 200
    assert "not a host name" in response.content.decode()
    with scopes_disabled():
        assert not HostedPolicy.objects.exists()


def test_a_viewer_reads_the_page_without_the_form(domain: Domain) -> None:
    update(domain)
    client = fresh_client()
    login(client, make_member(domain.tenant, Role.VIEWER).user)
    body = client.get(page(domain)).content.decode()
    assert 'id="policy-text"' in body
    assert 'id="hosting-form"' not in body


def test_the_domain_page_links_to_hosting(owner: Client, domain: Domain) -> None:
    url = reverse("domain_detail", kwargs={"slug": domain.tenant.slug, "pk": domain.pk})
    assert page(domain) in owner.get(url).content.decode()


# --- the DNS health check --------------------------------------------------------------------


def health(domain: Domain) -> dict:
    with scope(tenant=domain.tenant_id):
        return {c.kind: c for c in domain_health_check(domain=domain)}


def test_the_health_check_warns_while_the_txt_record_names_an_older_id(
    dns, sts, acme: Tenant
) -> None:
    domain = make_domain(acme, "acme.test")
    publish_good(dns, sts, acme, "acme.test")  # publishes id=20261101
    policy = update(domain, mode="enforce", mx=["mx.acme.test"], max_age=604800)
    finding = next(
        f for f in health(domain)["mta_sts"].findings if f["code"] == "sts_id_not_current"
    )
    assert finding["level"] == "warning"
    assert "20261101" in finding["message"]
    assert f"v=STSv1; id={policy.policy_id}" in finding["fix"]

    dns.records.pop(("_mta-sts.acme.test", "TXT"))
    dns.add_txt("_mta-sts.acme.test", f"v=STSv1; id={policy.policy_id}")
    codes = [f["code"] for f in health(domain)["mta_sts"].findings]
    assert "sts_id_not_current" not in codes


def test_without_hosting_the_published_id_is_not_judged(dns, sts, acme: Tenant) -> None:
    domain = make_domain(acme, "acme.test")
    publish_good(dns, sts, acme, "acme.test")
    update(domain, enabled=False, mode="enforce", mx=["mx.acme.test"])
    codes = [f["code"] for f in health(domain)["mta_sts"].findings]
    assert "sts_id_not_current" not in codes


def test_a_policy_in_testing_shows_its_readiness_on_the_page(owner: Client, domain: Domain) -> None:
    readiness = reverse("domain_readiness", args=[domain.tenant.slug, domain.pk])
    update(domain, mode="enforce")
    assert readiness not in owner.get(page(domain)).content.decode()
    update(domain, mode="testing")
    assert f'hx-get="{readiness}"' in owner.get(page(domain)).content.decode()
