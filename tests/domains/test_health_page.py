"""The domain page's DNS health panel: findings with fixes, checks started by hand."""

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from accounts.models import Role, Tenant
from domains.checks import domain_health_check
from domains.models import DnsCheck, Domain
from tests.conftest import wait_until
from tests.domains.zones import break_sts, publish_good
from tests.factories import make_domain, make_member
from tests.web import fresh_client, login

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken(dns, sts, acme: Tenant) -> Domain:
    """acme.test with a sound set-up except its MTA-STS policy, which is a 404."""
    domain = make_domain(acme, "acme.test")
    publish_good(dns, sts, acme, "acme.test")
    break_sts(sts, "acme.test")
    return domain


def test_the_page_shows_each_check_with_its_problem_and_fix(owner: Client, broken) -> None:
    with scope(tenant=broken.tenant_id):
        domain_health_check(domain=broken)
    page = owner.get(reverse("domain_detail", args=["acme", broken.pk])).content.decode()
    for kind in ("tlsrpt", "mta_sts", "mx", "dane"):
        assert f'id="check-{kind}"' in page
    assert 'data-code="sts_fetch_status"' in page
    assert "https://mta-sts.acme.test:" in page and "/.well-known/mta-sts.txt" in page
    assert "Fix:" in page and "status 200" in page


def test_a_viewer_sees_the_health_but_cannot_start_a_check(acme, broken) -> None:
    viewer = fresh_client()
    login(viewer, make_member(acme, Role.VIEWER).user)
    page = viewer.get(reverse("domain_detail", args=["acme", broken.pk])).content.decode()
    assert 'id="domain-health"' in page and 'id="check-now"' not in page
    assert viewer.post(reverse("domain_check", args=["acme", broken.pk])).status_code == 403


def test_check_now_runs_the_checks_on_the_worker_and_the_panel_follows(
    owner: Client, broken, celery_worker, sts
) -> None:
    response = owner.post(reverse("domain_check", args=["acme", broken.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'hx-swap-oob="true"' in body and "?since=" in body  # the panel polls
    with scopes_disabled():
        # the four DNS kinds, then mx_tls (unknown: the MX is on a documentation address)
        wait_until(lambda: DnsCheck.objects.filter(domain=broken).count() == 5)
    since = body.split("?since=")[1].split('"')[0]
    fragment = owner.get(reverse("domain_health", args=["acme", broken.pk]) + f"?since={since}")
    html = fragment.content.decode()
    assert "hx-get" not in html  # done: no more polling
    assert 'data-code="sts_fetch_status"' in html


def test_manual_checks_are_rate_limited_per_tenant(owner: Client, broken, settings) -> None:
    settings.DNS_MANUAL_CHECKS_PER_HOUR = 2
    url = reverse("domain_check", args=["acme", broken.pk])
    assert [owner.post(url).status_code for _ in range(3)] == [302, 302, 429]
    assert "checks in the last hour" in owner.post(url).content.decode()


@pytest.mark.parametrize("verified_before", [True, False])
def test_one_click_queues_the_health_checks_once(
    acme: Tenant, owner: Client, dns, monkeypatch, django_capture_on_commit_callbacks,
    verified_before: bool,
) -> None:  # fmt: skip
    """A domain the click verifies has them queued by its verification, not twice."""
    from domains import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks.check_domain_health, "delay", queued.append)
    domain = make_domain(acme, "example.org", verified=verified_before)
    dns.add_txt("_tlsrpt-verify.example.org", domain.verification_token)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(reverse("domain_check", args=["acme", domain.pk]))
    assert response.status_code == 302
    assert queued == [domain.pk]


def test_a_pending_domain_not_verified_by_the_click_queues_nothing(
    acme: Tenant, owner: Client, dns, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from domains import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks.check_domain_health, "delay", queued.append)
    domain = make_domain(acme, "example.org", verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(reverse("domain_check", args=["acme", domain.pk]))
    assert queued == []
