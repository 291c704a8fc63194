"""Who may open what under /t/<slug>/: every tenant route, every role, and outsiders.

``ROUTES`` is the specification: each route and method with the least role that may use
it. The first test fails when a route exists under /t/<slug>/ without an entry here, so
no view can be added without its access being tested.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, reverse
from django_scopes import scopes_disabled

from accounts.models import ApiKey, Invitation, Membership, Role, Tenant
from domains.models import Domain
from reports.inbound.secrets import secret_encrypt
from reports.inbound.store import inbound_store
from reports.models import Channel, InboundMessage, MailboxSource, Report, SelfTest
from reports.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import make_domain, make_member, make_tenant, owner_of
from tests.reports.helpers import ingest
from tests.reports.mail import report_email, report_json
from tests.web import login
from tlsrpt_saas.urls import tenant_patterns

if TYPE_CHECKING:  # the test client's response type, named only in django-stubs
    from django.test.client import _MonkeyPatchedWSGIResponse

pytestmark = pytest.mark.django_db


@dataclass
class Objects:
    tenant: Tenant
    domain: Domain
    target: Membership
    invitation: Invitation
    message: InboundMessage
    mailbox: MailboxSource
    report: Report
    key: ApiKey
    self_test: SelfTest


def _report(tenant: Tenant, slug: str) -> Report:
    make_domain(tenant, f"{slug}.example.net")
    ingest(tenant, report_email(report_json(domain=f"{slug}.example.net")))
    with scopes_disabled():
        return Report.objects.get(tenant=tenant)


def objects(slug: str) -> Objects:
    return _with_webhook(_objects(slug))


def _objects(slug: str) -> Objects:
    tenant = make_tenant(slug)
    with scopes_disabled():
        invitation = Invitation.objects.create(tenant=tenant, email=f"new@{slug}.test")
    return Objects(
        tenant=tenant,
        domain=make_domain(tenant, f"{slug}.example", verified=False),
        target=make_member(tenant, Role.MEMBER, email=f"target@{slug}.test"),
        invitation=invitation,
        message=inbound_store(
            tenant=tenant, channel=Channel.UPLOAD, raw=b"not a report", queue=False
        ),
        mailbox=MailboxSource.objects.create(
            tenant=tenant,
            name="Box",
            host="127.0.0.1",
            port=1,
            tls_mode="none",
            username="u",
            password_encrypted=secret_encrypt("p"),
        ),
        report=_report(tenant, slug),
        key=cast(
            ApiKey, ApiKey.objects.create_key(tenant=tenant, name="k")[0]
        ),  # the stubs type create_key with the abstract model
        self_test=_self_test(tenant),
    )


def _self_test(tenant: Tenant) -> SelfTest:
    with scopes_disabled():
        domain = Domain.objects.get(tenant=tenant, name=f"{tenant.slug}.example")
        return SelfTest.objects.create(
            tenant=tenant, domain=domain, report_id=f"selftest-{tenant.slug}"
        )


def _self_test_kwargs(o: Objects) -> dict:
    return {"pk": o.self_test.domain_id, "test_id": o.self_test.pk}


_self_test_kwargs.names_object = True  # type: ignore[attr-defined]


def _with_webhook(o: Objects) -> Objects:
    """``o`` with ``webhook`` and ``delivery`` (attributes, so _pk finds them too)."""
    with scopes_disabled():
        webhook = WebhookEndpoint.objects.create(
            tenant=o.tenant, url="https://hooks.example/in", events=["alert.opened"],
            secret_encrypted=secret_encrypt("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        )  # fmt: skip
        delivery = WebhookDelivery.objects.create(
            tenant=o.tenant, endpoint=webhook, event_type="alert.opened", message_id="msg_1",
            payload={"type": "alert.opened", "timestamp": "", "data": {}}, status="failed",
        )  # fmt: skip
    setattr(o, "webhook", webhook)  # noqa: B010
    setattr(o, "delivery", delivery)  # noqa: B010
    return o


def _pk(attr: str):
    def kwargs(o: Objects) -> dict:
        return {"pk": getattr(o, attr).pk}

    kwargs.names_object = True  # type: ignore[attr-defined]
    return kwargs


# (url name, method): (least role, URL kwargs beyond the slug, POST data)
ROUTES = {
    ("tenant_home", "get"): (Role.VIEWER, None, None),
    ("members", "get"): (Role.VIEWER, None, None),
    ("members", "post"): (Role.ADMIN, None, {"email": "x@new.test", "role": "member"}),
    ("member_role", "post"): (Role.ADMIN, _pk("target"), {"role": "viewer"}),
    ("member_remove", "post"): (Role.ADMIN, _pk("target"), {}),
    ("member_transfer", "post"): (Role.OWNER, _pk("target"), {}),
    ("invitation_withdraw", "post"): (Role.ADMIN, _pk("invitation"), {}),
    ("tenant_leave", "post"): (Role.VIEWER, None, {}),
    ("tenant_settings", "get"): (Role.ADMIN, None, None),
    ("tenant_settings", "post"): (
        Role.ADMIN, None,
        {"name": "Renamed", "time_zone": "UTC", "weekly_digest": "on", "digest_weekday": 0},
    ),
    ("tenant_delete", "get"): (Role.OWNER, None, None),
    ("tenant_delete", "post"): (Role.OWNER, None, {"confirm": "a"}),
    ("audit_log", "get"): (Role.ADMIN, None, None),
    ("domain_list", "get"): (Role.VIEWER, None, None),
    ("domain_list", "post"): (Role.ADMIN, None, {"name": "added.example.org"}),
    ("domain_detail", "get"): (Role.VIEWER, _pk("domain"), None),
    ("domain_check", "post"): (Role.MEMBER, _pk("domain"), {}),
    ("domain_health", "get"): (Role.VIEWER, _pk("domain"), None),
    ("domain_delete", "get"): (Role.ADMIN, _pk("domain"), None),
    ("domain_delete", "post"): (Role.ADMIN, _pk("domain"), {}),
    ("domain_mta_sts", "get"): (Role.VIEWER, _pk("domain"), None),
    ("domain_mta_sts", "post"): (Role.ADMIN, _pk("domain"), {
        "enabled": "on", "mode": "testing", "mx": "mx.example.org", "max_age": "86400",
        "txt_mode": "customer",
    }),
    ("upload", "get"): (Role.MEMBER, None, None),
    ("upload", "post"): (Role.MEMBER, None, lambda: {"files": _report_file()}),
    ("inbound_log", "get"): (Role.VIEWER, None, None),
    ("inbound_reprocess", "post"): (Role.MEMBER, _pk("message"), {}),
    ("inbound_conflict", "get"): (Role.VIEWER, _pk("message"), None),
    ("inbound_raw", "get"): (Role.VIEWER, _pk("message"), None),
    ("mailbox_list", "get"): (Role.ADMIN, None, None),
    ("mailbox_new", "get"): (Role.ADMIN, None, None),
    ("mailbox_new", "post"): (Role.ADMIN, None, {
        "name": "New", "host": "127.0.0.1", "port": 1, "tls_mode": "none", "username": "u",
        "password": "p", "folder": "INBOX", "processed_folder": "",
    }),
    ("mailbox_edit", "get"): (Role.ADMIN, _pk("mailbox"), None),
    ("mailbox_edit", "post"): (Role.ADMIN, _pk("mailbox"), {
        "name": "Renamed", "host": "127.0.0.1", "port": 1, "tls_mode": "none", "username": "u",
        "password": "", "folder": "INBOX", "processed_folder": "",
    }),
    ("mailbox_test", "post"): (Role.ADMIN, _pk("mailbox"), {}),
    ("mailbox_toggle", "post"): (Role.ADMIN, _pk("mailbox"), {}),
    ("mailbox_delete", "post"): (Role.ADMIN, _pk("mailbox"), {}),
    ("domain_dashboard", "get"): (Role.VIEWER, _pk("domain"), None),
    ("domain_readiness", "get"): (Role.VIEWER, _pk("domain"), None),
    ("report_list", "get"): (Role.VIEWER, None, None),
    ("report_detail", "get"): (Role.VIEWER, _pk("report"), None),
    ("report_raw", "get"): (Role.VIEWER, _pk("report"), None),
    ("export_csv", "get"): (Role.VIEWER, lambda o: {"what": "failures"}, None),
    ("api_keys", "get"): (Role.ADMIN, None, None),
    ("api_keys", "post"): (Role.ADMIN, None, {"name": "new", "scope": "read"}),
    ("api_key_revoke", "post"): (Role.ADMIN, _pk("key"), {}),
    ("digest_preference", "post"): (Role.VIEWER, None, {}),
    ("self_test_start", "post"): (Role.MEMBER, _pk("domain"), {}),
    ("self_test_progress", "get"): (Role.VIEWER, _self_test_kwargs, None),
    ("webhook_list", "get"): (Role.MEMBER, None, None),
    ("webhook_new", "get"): (Role.ADMIN, None, None),
    ("webhook_new", "post"): (Role.ADMIN, None, {
        "url": "https://hooks.example/new", "kind": "generic", "events": ["alert.opened"],
        "enabled": "on",
    }),
    ("webhook_detail", "get"): (Role.MEMBER, _pk("webhook"), None),
    ("webhook_edit", "get"): (Role.ADMIN, _pk("webhook"), None),
    ("webhook_edit", "post"): (Role.ADMIN, _pk("webhook"), {
        "url": "https://hooks.example/changed", "kind": "slack", "events": ["alert.opened"],
    }),
    ("webhook_rotate", "post"): (Role.ADMIN, _pk("webhook"), {}),
    ("webhook_toggle", "post"): (Role.ADMIN, _pk("webhook"), {}),
    ("webhook_delete", "post"): (Role.ADMIN, _pk("webhook"), {}),
    ("webhook_test", "post"): (Role.ADMIN, _pk("webhook"), {}),
    ("webhook_resend", "post"): (Role.ADMIN, _pk("delivery"), {}),
}  # fmt: skip
ROLES = [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER]


def url(name: str, o: Objects, kwargs_of) -> str:
    return reverse(name, kwargs={"slug": o.tenant.slug, **(kwargs_of(o) if kwargs_of else {})})


def request(client: Client, method: str, path: str, data: object) -> "_MonkeyPatchedWSGIResponse":
    if method == "get":
        return client.get(path)
    return client.post(path, (data() if callable(data) else data) or {})


def _report_file() -> SimpleUploadedFile:
    return SimpleUploadedFile("report.json", b"{}", content_type="application/json")


def test_every_tenant_route_is_in_the_access_table() -> None:
    names = {p.name for p in tenant_patterns if isinstance(p, URLPattern)}
    assert names == {name for name, _ in ROUTES}
    for pattern in tenant_patterns:
        assert hasattr(pattern.callback, "tenant_role"), f"{pattern.name} is not a tenant_view"


@pytest.mark.parametrize(("name", "method"), list(ROUTES))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_allowed_or_refused(
    client: Client, name: str, method: str, role: Role
) -> None:
    least, kwargs_of, data = ROUTES[name, method]
    o = objects("a")
    user = owner_of(o.tenant) if role == Role.OWNER else make_member(o.tenant, role).user
    login(client, user)

    response = request(client, method, url(name, o, kwargs_of), data)

    if role.rank >= least.rank:
        assert response.status_code in (200, 302), response.content[:300]
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(("name", "method"), list(ROUTES))
def test_an_outsider_gets_404_and_changes_nothing(client: Client, name: str, method: str) -> None:
    _, kwargs_of, data = ROUTES[name, method]
    a, b = objects("a"), objects("b")
    login(client, owner_of(b.tenant))
    before = _fingerprint(a.tenant)

    response = request(client, method, url(name, a, kwargs_of), data)

    assert response.status_code == 404
    assert _fingerprint(a.tenant) == before


@pytest.mark.parametrize(
    ("name", "method"),
    [k for k, (_, kwargs_of, _) in ROUTES.items() if getattr(kwargs_of, "names_object", False)],
)
def test_another_tenants_object_under_my_slug_is_404(
    client: Client, name: str, method: str
) -> None:
    _, kwargs_of, data = ROUTES[name, method]
    a, b = objects("a"), objects("b")
    login(client, owner_of(a.tenant))
    before = _fingerprint(b.tenant)
    path = reverse(name, kwargs={"slug": a.tenant.slug, **kwargs_of(b)})

    response = request(client, method, path, data)

    assert response.status_code == 404
    assert _fingerprint(b.tenant) == before


def test_a_tenant_that_does_not_exist_is_404_like_anothers(client: Client) -> None:
    b = objects("b")
    login(client, owner_of(b.tenant))
    assert client.get("/t/no-such-tenant/").status_code == 404
    assert client.get("/t/a/").status_code == 404


def test_anonymous_people_are_sent_to_log_in(client: Client) -> None:
    o = objects("a")
    response = client.get(reverse("domain_list", kwargs={"slug": o.tenant.slug}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def _fingerprint(tenant: Tenant) -> tuple:
    with scopes_disabled():
        found = Tenant.objects.filter(pk=tenant.pk).first()
        if found is None:
            return ("deleted",)
        tenant = found
        return (
            tenant.name,
            sorted(Membership.objects.filter(tenant=tenant).values_list("user__email", "role")),
            sorted(Domain.objects.filter(tenant=tenant).values_list("name", "verified_at")),
            sorted(Invitation.objects.filter(tenant=tenant).values_list("email", flat=True)),
            sorted(InboundMessage.objects.filter(tenant=tenant).values_list("pk", "status")),
            SelfTest.objects.filter(tenant=tenant).count(),
            sorted(
                WebhookEndpoint.objects.filter(tenant=tenant).values_list(
                    "url", "enabled", "secret_encrypted"
                )
            ),
            WebhookDelivery.objects.filter(tenant=tenant).count(),
        )
