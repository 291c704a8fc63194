"""``manage.py demo``: a filled tenant whose rollups agree with its reports, built the
same way however often it runs."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q, Sum
from django_scopes import scopes_disabled

from accounts.models import Membership, Role, Tenant
from domains.models import DnsCheck, Domain, HostedPolicyVersion
from reports.demo.generate import OWNER_EMAIL
from reports.models import (
    Alert,
    DailyFailure,
    DailyStat,
    FailureDetail,
    InboundMessage,
    PolicyResult,
    Report,
    Status,
)
from tests.factories import make_tenant
from tests.reports.helpers import corpus_files

pytestmark = pytest.mark.django_db


def _demo(days: int = 183) -> Tenant:
    """The command's tenant; fewer days where the length of the history does not matter."""
    out = StringIO()
    call_command("demo", password="demo-pass-1", days=days, stdout=out)
    assert "Log in as demo@example.com" in out.getvalue()
    return Tenant.objects.get(slug="demo")


def _by_domain_day(rows, *fields: str) -> dict:
    return {(r["domain"], r["day"]): tuple(r[f] for f in fields) for r in rows}


@scopes_disabled()
def test_the_demo_tenant_has_an_owner_domains_months_of_history_and_stories() -> None:
    tenant = _demo()

    owner = Membership.objects.get(tenant=tenant, role=Role.OWNER).user
    assert owner.email == OWNER_EMAIL and owner.check_password("demo-pass-1")
    domains = {d.name: d for d in Domain.objects.filter(tenant=tenant)}
    assert sorted(n for n, d in domains.items() if d.is_verified) == [
        "example.com", "example.net", "example.org", "shop.example.com",
    ]  # fmt: skip
    assert not domains["newsletter.example.net"].is_verified
    days = {
        name: Report.objects.filter(policies__domain=d).values("day").distinct().count()
        for name, d in domains.items()
    }
    assert days["example.org"] >= 180 and days["example.net"] >= 180
    assert days["shop.example.com"] == 0
    organizations = set(
        DailyStat.objects.filter(tenant=tenant).values_list("organization", flat=True)
    )
    assert {"Google Inc.", "Microsoft Corporation", "Mail.ru"} <= organizations
    # The real corpus went through the same door: each file is one message.
    uploaded = InboundMessage.objects.filter(tenant=tenant, filename__in=corpus_files())
    assert uploaded.count() == len(corpus_files())
    assert uploaded.filter(status=Status.UNATTRIBUTED).exists()
    assert uploaded.filter(status=Status.PROCESSED).exists()
    _assert_the_stories(tenant)


def _assert_the_stories(tenant: Tenant) -> None:
    """mx2 of example.org broke, example.net's policy was unreachable for a week,
    example.com stayed healthy, a small reporter went silent."""
    failures = DailyFailure.objects.filter(tenant=tenant)

    mx2 = failures.filter(domain__name="example.org", receiving_mx="mx2.example.org")
    assert set(mx2.values_list("result_type", flat=True)) == {
        "starttls-not-supported", "certificate-expired",
    }  # fmt: skip
    assert not failures.filter(domain__name="example.org").exclude(pk__in=mx2).exists()
    fetch = failures.filter(domain__name="example.net", result_type="sts-policy-fetch-error")
    assert fetch.values("day").distinct().count() == 7
    recent_healthy = failures.filter(domain__name="example.com", day__gte=mx2.earliest("day").day)
    assert not recent_healthy.exists()
    assert Alert.objects.filter(
        tenant=tenant, resolved_at=None, domain__name="example.org"
    ).exists()
    changed = DnsCheck.objects.filter(tenant=tenant, changed=True)
    assert set(changed.values_list("domain__name", "kind")) >= {("example.net", "mta_sts")}
    assert HostedPolicyVersion.objects.filter(tenant=tenant).count() == 2
    silent = DailyStat.objects.filter(tenant=tenant, organization="mail.smallbiz.net")
    last = silent.order_by("-day").values_list("day", flat=True).first()
    newest = DailyStat.objects.filter(tenant=tenant).order_by("-day").values_list("day", flat=True)
    assert last is not None and (newest[0] - last).days >= 30


@scopes_disabled()
def test_the_rollups_equal_the_raw_reports() -> None:
    tenant = _demo(days=50)

    policies = (
        PolicyResult.objects.filter(tenant=tenant, domain__isnull=False)
        .values("domain", "day")
        .annotate(
            s=Sum("successful"), f=Sum("failed"),
            cs=Sum("successful", filter=Q(counted=True)), cf=Sum("failed", filter=Q(counted=True)),
            n=Count("report", distinct=True),
        )
    )  # fmt: skip
    stats = (
        DailyStat.objects.filter(tenant=tenant)
        .values("domain", "day")
        .annotate(
            s=Sum("successful"), f=Sum("failed"), cs=Sum("counted_successful"),
            cf=Sum("counted_failed"), n=Sum("reports"),
        )
    )  # fmt: skip
    fields = ("s", "f", "cs", "cf", "n")
    assert _by_domain_day(stats, *fields) == _by_domain_day(policies, *fields)
    details = (
        FailureDetail.objects.filter(tenant=tenant, policy__domain__isnull=False)
        .values(d=F("policy__domain"), dd=F("policy__day"))
        .annotate(c=Sum("failed_session_count"))
    )
    rolled = (
        DailyFailure.objects.filter(tenant=tenant).values("domain", "day").annotate(c=Sum("count"))
    )
    assert _by_domain_day(rolled, "c") == {(r["d"], r["dd"]): (r["c"],) for r in details}
    assert sum(c for (c,) in _by_domain_day(rolled, "c").values()) > 1000


def _fingerprint(tenant: Tenant) -> tuple:
    with scopes_disabled():
        return (
            sorted(Domain.objects.filter(tenant=tenant).values_list("name", "verified_at")),
            sorted(
                Report.objects.filter(tenant=tenant).values_list(
                    "organization", "report_id", "day", "successful", "failed"
                )
            ),
            sorted(InboundMessage.objects.filter(tenant=tenant).values_list("status", "sha256")),
            sorted(
                DailyStat.objects.filter(tenant=tenant).values_list(
                    "domain__name", "day", "organization", "counted_successful", "counted_failed"
                )
            ),
            sorted(
                DnsCheck.objects.filter(tenant=tenant).values_list(
                    "domain__name", "kind", "status", "checked_at"
                )
            ),
            sorted(
                Alert.objects.filter(tenant=tenant).values_list(
                    "domain__name", "kind", "resolved_at"
                )
            ),
        )


def test_running_it_again_rebuilds_the_same_tenant() -> None:
    first = _fingerprint(_demo(days=50))

    second = _demo(days=50)

    assert Tenant.objects.filter(slug="demo").count() == 1
    assert _fingerprint(second) == first
    with scopes_disabled():
        assert Membership.objects.filter(tenant=second).count() == 1


def test_a_tenant_named_demo_of_someone_else_is_left_alone() -> None:
    tenant = make_tenant("demo")

    with pytest.raises(CommandError, match="the demo did not make"):
        call_command("demo", password="demo-pass-1", days=1, stdout=StringIO())

    assert Tenant.objects.filter(pk=tenant.pk).exists()
    with scopes_disabled():
        assert not Domain.objects.filter(tenant=tenant).exists()
