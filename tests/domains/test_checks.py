"""DNS health checks against real DNS and HTTPS servers on loopback: what each kind finds."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.models import AuditEvent, Tenant
from domains.checks import domain_health_check
from domains.models import DnsCheck, Domain
from domains.selectors import changes, latest_checks
from domains.verification import domain_check
from tests.domains.zones import break_sts, policy, publish_good
from tests.factories import make_domain, make_tenant
from tests.httpsserver import Behaviour

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_domain(acme: Tenant) -> Domain:
    return make_domain(acme, "acme.test")


def run(domain: Domain) -> dict[str, DnsCheck]:
    with scope(tenant=domain.tenant_id):
        return {c.kind: c for c in domain_health_check(domain=domain)}


def codes(check: DnsCheck) -> list[str]:
    return [f["code"] for f in check.findings]


def test_a_sound_set_up_is_ok_in_every_kind(dns, sts, acme, acme_domain) -> None:
    publish_good(dns, sts, acme, "acme.test")
    checks = run(acme_domain)
    assert {k: c.status for k, c in checks.items()} == {
        "tlsrpt": "ok", "mta_sts": "ok", "mx": "ok", "dane": "ok",
    }  # fmt: skip
    assert codes(checks["tlsrpt"]) == ["tlsrpt_ok"]
    assert codes(checks["mta_sts"]) == ["sts_record_ok", "sts_policy_ok"]
    assert codes(checks["dane"]) == ["dane_ok"]
    assert checks["mta_sts"].records["policy"] == policy("acme.test")
    acme_domain.refresh_from_db()
    assert acme_domain.mx_hosts == ["mx.acme.test"]
    assert acme_domain.tlsrpt_ok is True
    assert len(sts.requests) == 1


def test_an_unreachable_policy_is_an_error_with_its_fix(dns, sts, acme, acme_domain) -> None:
    publish_good(dns, sts, acme, "acme.test")
    break_sts(sts, "acme.test")
    check = run(acme_domain)["mta_sts"]
    assert check.status == "error"
    problem = next(f for f in check.findings if f["code"] == "sts_fetch_status")
    assert "404" in problem["message"]
    assert "200" in problem["fix"]


def test_testing_mode_and_uncovered_mx_are_warned(dns, sts, acme, acme_domain) -> None:
    publish_good(dns, sts, acme, "acme.test")
    dns.add_mx("acme.test", "backup.acme.test", 20)
    sts.policies["mta-sts.acme.test"] = Behaviour(body=policy("acme.test", "testing").encode())
    check = run(acme_domain)["mta_sts"]
    assert check.status == "warning"
    assert {"sts_policy_testing", "sts_policy_mx_not_covered"} <= set(codes(check))


def test_a_policy_server_on_a_private_address_is_never_contacted(dns, sts, acme, acme_domain):
    publish_good(dns, sts, acme, "acme.test")
    dns.records.pop(("mta-sts.acme.test", "A"))
    dns.add_a("mta-sts.acme.test", "169.254.169.254")
    check = run(acme_domain)["mta_sts"]
    assert "sts_fetch_unsafe_address" in codes(check)
    assert check.status == "error"
    assert sts.requests == []


def test_a_name_resolving_to_loopback_is_refused_unless_allowed(
    dns, sts, settings, acme, acme_domain
) -> None:
    settings.MTA_STS_ALLOWED_ADDRESSES = []
    publish_good(dns, sts, acme, "acme.test")
    assert "sts_fetch_unsafe_address" in codes(run(acme_domain)["mta_sts"])
    assert sts.connections == 0


def test_tlsrpt_typo_and_foreign_rua_are_named_with_a_fix(dns, sts, acme, acme_domain) -> None:
    publish_good(dns, sts, acme, "acme.test")
    dns.records.pop(("_smtp._tls.acme.test", "TXT"))
    dns.add_txt("_smtp._tls.acme.test", f"v=TSLRPTv1; rua=mailto:{acme.inbound_address}")
    check = run(acme_domain)["tlsrpt"]
    assert check.status == "error"
    typo = next(f for f in check.findings if f["code"] == "tlsrpt_version_typo")
    assert "v=TLSRPTv1" in typo["fix"]

    dns.records.pop(("_smtp._tls.acme.test", "TXT"))
    dns.add_txt("_smtp._tls.acme.test", "v=TLSRPTv1; rua=mailto:tlsrpt@elsewhere.example")
    check = run(acme_domain)["tlsrpt"]
    assert (check.status, codes(check)) == ("warning", ["tlsrpt_not_pointing_at_us"])
    acme_domain.refresh_from_db()
    assert acme_domain.tlsrpt_ok is False


def test_dane_without_dnssec_is_an_error_and_no_tlsa_is_fine(dns, sts, acme, acme_domain):
    publish_good(dns, sts, acme, "acme.test")
    dns.secure.discard("_25._tcp.mx.acme.test")
    assert "dane_not_validated" in codes(run(acme_domain)["dane"])
    dns.records.pop(("_25._tcp.mx.acme.test", "TLSA"))
    check = run(acme_domain)["dane"]
    assert (check.status, codes(check)) == ("ok", ["dane_not_deployed"])


def test_pkix_usages_are_flagged(dns, sts, acme, acme_domain) -> None:
    publish_good(dns, sts, acme, "acme.test", dane=False)
    dns.add_tlsa("_25._tcp.mx.acme.test", 1, 1, 1, b"\x01" * 32)
    dns.secure.add("_25._tcp.mx.acme.test")
    check = run(acme_domain)["dane"]
    assert (check.status, codes(check)) == ("error", ["dane_unusable_usage"])


def test_a_timeout_is_unknown_and_changes_nothing(dns, sts, acme, acme_domain) -> None:
    publish_good(dns, sts, acme, "acme.test")
    run(acme_domain)
    dns.timeout.add("_mta-sts.acme.test")
    dns.servfail.add("_smtp._tls.acme.test")
    checks = run(acme_domain)
    assert checks["mta_sts"].status == checks["tlsrpt"].status == "unknown"
    assert not checks["mta_sts"].changed
    with scope(tenant=acme.pk):
        current = latest_checks([acme_domain])[acme_domain.pk]
    assert current["mta_sts"].status == current["tlsrpt"].status == "ok"
    acme_domain.refresh_from_db()
    assert acme_domain.tlsrpt_ok is True


def test_only_a_definitive_change_is_marked(dns, sts, acme, acme_domain) -> None:
    publish_good(dns, sts, acme, "acme.test")
    run(acme_domain)
    break_sts(sts, "acme.test")
    broken = run(acme_domain)["mta_sts"]
    assert (broken.changed, broken.previous_status, broken.status) == (True, "ok", "error")
    again = run(acme_domain)["mta_sts"]
    assert not again.changed
    with scope(tenant=acme.pk):
        marked = changes(acme_domain, timezone.now().date(), timezone.now().date())
    assert [(c.kind, c.status) for c in marked] == [("mta_sts", "error")]


def test_missing_mx_is_warned_and_nxdomain_is_an_error(dns, acme) -> None:
    domain = make_domain(acme, "nomx.test")
    dns.add_txt("nomx.test", "something")
    assert codes(run(domain)["mx"]) == ["mx_missing"]
    assert codes(run(make_domain(acme, "gone.test"))["mx"]) == ["mx_domain_missing"]


def test_ownership_gone_for_a_week_unverifies_once_and_tells_admins(
    dns, acme, acme_domain, django_capture_on_commit_callbacks
) -> None:
    start = timezone.now()
    with scope(tenant=acme.pk), django_capture_on_commit_callbacks(execute=True):
        assert domain_check(domain=acme_domain).ok is False
        acme_domain.refresh_from_db()
        assert acme_domain.is_verified
        assert acme_domain.ownership_missing_since is not None
        Domain.objects.filter(pk=acme_domain.pk).update(
            ownership_missing_since=start - timedelta(days=7, minutes=1)
        )
        domain_check(domain=acme_domain)
        domain_check(domain=acme_domain)
        acme_domain.refresh_from_db()
    assert not acme_domain.is_verified
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@acme.test"]
    assert acme_domain.verification_name in mail.outbox[0].body
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="domain.unverified").count() == 1


def test_ownership_back_within_the_week_keeps_the_domain(dns, acme, acme_domain) -> None:
    with scope(tenant=acme.pk):
        domain_check(domain=acme_domain)
        dns.add_txt(acme_domain.verification_name, acme_domain.verification_token)
        domain_check(domain=acme_domain)
        acme_domain.refresh_from_db()
    assert acme_domain.is_verified and acme_domain.ownership_missing_since is None


def test_checks_are_tenant_scoped(dns, sts, acme, acme_domain) -> None:
    publish_good(dns, sts, acme, "acme.test")
    run(acme_domain)
    other = make_tenant("other")
    with scope(tenant=other.pk):
        assert not DnsCheck.objects.exists()
        assert latest_checks([acme_domain]) == {acme_domain.pk: {}}
