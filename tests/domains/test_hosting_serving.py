"""Serving hosted policies by Host name, from the cache, and Caddy's TLS ask."""

import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import trustme
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.test import Client
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant
from domains.checks import domain_health_check
from domains.dns import make_resolver
from domains.hosting.models import ChangeSource, HostedPolicy
from domains.hosting.services import PolicySettings, hosted_policy_update
from domains.lifecycle import domain_remove
from domains.models import Domain
from domains.stsfetch import fetch_sts_policy
from domains.verification import domain_operator_verify
from tests.factories import make_domain, make_tenant

pytestmark = pytest.mark.django_db

URL = "/.well-known/mta-sts.txt"
HOST = "mta-sts.acme.test"


def host(domain: Domain, **changes: object) -> HostedPolicy:
    values: dict = {"enabled": True, "mode": "testing", "mx": ["mx.acme.test"], "max_age": 86400}
    with scope(tenant=domain.tenant_id):
        return hosted_policy_update(
            domain=domain, wanted=PolicySettings(**values | changes), actor=None,
            source=ChangeSource.API,
        )  # fmt: skip


@pytest.fixture
def domain(acme: Tenant) -> Domain:
    return make_domain(acme, "acme.test")


@pytest.fixture
def sender() -> Client:
    return Client()


def test_a_hosted_policy_is_served_exactly_as_text_plain(
    django_capture_on_commit_callbacks, sender: Client, domain: Domain
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        host(domain)
    response = sender.get(URL, HTTP_HOST=HOST)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain"
    assert response.content == (
        b"version: STSv1\r\nmode: testing\r\nmx: mx.acme.test\r\nmax_age: 86400\r\n"
    )
    assert not response.cookies
    assert "Set-Cookie" not in response


def test_the_host_may_carry_a_port_and_any_case(sender: Client, domain: Domain) -> None:
    host(domain)
    assert sender.get(URL, HTTP_HOST="MTA-STS.Acme.Test:443").status_code == 200


def test_head_answers_the_length_without_a_body(sender: Client, domain: Domain) -> None:
    host(domain)
    response = sender.head(URL, HTTP_HOST=HOST)
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(len(sender.get(URL, HTTP_HOST=HOST).content))


def test_other_paths_and_methods_under_the_name_are_refused(sender: Client, domain: Domain):
    host(domain)
    assert sender.get("/", HTTP_HOST=HOST).status_code == 404
    assert sender.get("/.well-known/mta-sts.txt/x", HTTP_HOST=HOST).status_code == 404
    assert sender.get("/admin/", HTTP_HOST=HOST).status_code == 404
    assert sender.post(URL, HTTP_HOST=HOST).status_code == 405


def test_an_unknown_name_is_404_not_a_bad_host(sender: Client) -> None:
    response = sender.get(URL, HTTP_HOST="mta-sts.nobody.test")
    assert response.status_code == 404  # not the 400 ALLOWED_HOSTS gives other names


def test_other_hosts_pass_through_untouched(sender: Client, domain: Domain) -> None:
    host(domain)
    assert sender.get(URL, HTTP_HOST="127.0.0.1").status_code == 404
    assert sender.get("/healthz", HTTP_HOST="acme.test").status_code == 400  # ALLOWED_HOSTS


def test_hosting_off_is_404(
    django_capture_on_commit_callbacks, sender: Client, domain: Domain
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        host(domain)
    assert sender.get(URL, HTTP_HOST=HOST).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        host(domain, enabled=False)
    assert sender.get(URL, HTTP_HOST=HOST).status_code == 404


def test_an_unverified_domain_is_not_served(sender: Client, domain: Domain) -> None:
    host(domain)
    with scopes_disabled():
        Domain.objects.filter(pk=domain.pk).update(verified_at=None)
    assert sender.get(URL, HTTP_HOST=HOST).status_code == 404


def test_the_server_switch_turns_serving_off(sender: Client, domain: Domain, settings) -> None:
    host(domain)
    settings.HOSTED_MTA_STS = False
    assert sender.get(URL, HTTP_HOST=HOST).status_code == 404


def test_a_change_is_served_at_once(
    django_capture_on_commit_callbacks, sender: Client, domain: Domain
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        host(domain)
    assert b"mode: testing" in sender.get(URL, HTTP_HOST=HOST).content  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        host(domain, mode="enforce")
    assert b"mode: enforce" in sender.get(URL, HTTP_HOST=HOST).content


def test_a_name_first_unknown_is_served_once_hosted(
    django_capture_on_commit_callbacks, sender: Client, domain: Domain
) -> None:
    assert sender.get(URL, HTTP_HOST=HOST).status_code == 404  # cached as unknown
    with django_capture_on_commit_callbacks(execute=True):
        host(domain)
    assert sender.get(URL, HTTP_HOST=HOST).status_code == 200


def test_a_cached_answer_needs_no_database(
    django_assert_num_queries, sender: Client, domain: Domain
) -> None:
    host(domain)
    sender.get(URL, HTTP_HOST=HOST)
    sender.get(URL, HTTP_HOST="mta-sts.nobody.test")
    with django_assert_num_queries(0):
        assert sender.get(URL, HTTP_HOST=HOST).status_code == 200
        assert sender.get(URL, HTTP_HOST="mta-sts.nobody.test").status_code == 404
        assert sender.get("/internal/tls-ask?domain=mta-sts.acme.test").status_code == 200


def test_a_name_two_tenants_verified_serves_the_latest_proof(sender: Client, domain: Domain):
    host(domain, mode="testing")
    other = make_domain(make_tenant("other"), "acme.test")
    host(other, mode="enforce")
    assert b"mode: enforce" in sender.get(URL, HTTP_HOST=HOST).content


# --- Caddy's on-demand TLS ask --------------------------------------------------------------


def ask(client: Client, name: str, host: str = "localhost"):
    return client.get("/internal/tls-ask", {"domain": name}, HTTP_HOST=host)


def test_the_ask_allows_a_hosted_name_whatever_the_host(sender: Client, domain: Domain) -> None:
    host(domain)
    assert ask(sender, HOST, host="web:8000").status_code == 200
    assert ask(sender, HOST + ".").status_code == 200


def test_the_ask_refuses_what_we_do_not_serve(sender: Client, acme: Tenant) -> None:
    hosted = make_domain(acme, "acme.test")
    host(hosted)
    off = make_domain(acme, "off.test")
    host(off, enabled=False)
    pending = make_domain(acme, "pending.test", verified=False)
    assert ask(sender, "acme.test").status_code == 404  # the domain itself: not ours to serve
    assert ask(sender, "www.acme.test").status_code == 404
    assert ask(sender, "mta-sts.off.test").status_code == 404
    assert ask(sender, f"mta-sts.{pending.name}").status_code == 404
    assert ask(sender, "mta-sts.unknown.test").status_code == 404
    assert sender.get("/internal/tls-ask").status_code == 404


# --- a sender's view: our own MTA-STS fetch over real HTTPS -----------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def django_over_https(settings) -> Iterator[int]:
    """This Django (its WSGI app) on a loopback port behind TLS, as Caddy would put it.

    The certificate for mta-sts.acme.test comes from a test CA the fetch is told to trust;
    the end-to-end path through Caddy and a real ACME CA is the Caddy part's to test.
    """
    ca = trustme.CA()
    directory = Path(tempfile.mkdtemp(prefix="hosted-sts-"))
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("mta-sts.acme.test").configure_cert(context)
    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=_QuietHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    settings.MTA_STS_PORT = port
    settings.MTA_STS_CA_FILE = str(ca_file)
    settings.MTA_STS_ALLOWED_ADDRESSES = ["127.0.0.1"]
    settings.MTA_STS_TIMEOUT = 5.0
    yield port
    server.shutdown()
    server.server_close()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.django_db(transaction=True)
def test_our_own_fetch_gets_the_hosted_policy_over_https(dns, django_over_https: int) -> None:
    acme = make_tenant("acme")
    domain = make_domain(acme, "acme.test")
    policy = host(domain, mode="enforce", mx=["mx.acme.test"], max_age=604800)
    dns.add_a("mta-sts.acme.test", "127.0.0.1")
    dns.add_mx("acme.test", "mx.acme.test")
    dns.add_txt("_mta-sts.acme.test", f"v=STSv1; id={policy.policy_id}")

    fetched = fetch_sts_policy(
        "acme.test", resolver=make_resolver(), timeout=5.0, port=django_over_https,
        ca_file=settings.MTA_STS_CA_FILE, allowed_addresses=frozenset({"127.0.0.1"}),
    )  # fmt: skip
    assert (fetched.ok, fetched.status, fetched.error_code) == (True, 200, "")
    assert fetched.body == (
        "version: STSv1\r\nmode: enforce\r\nmx: mx.acme.test\r\nmax_age: 604800\r\n"
    )

    with scope(tenant=acme):
        checks = {c.kind: c for c in domain_health_check(domain=domain)}
    codes = [f["code"] for f in checks["mta_sts"].findings]
    assert codes == ["sts_record_ok", "sts_policy_ok"]


def test_a_removed_domain_is_not_served_from_the_cache(
    django_capture_on_commit_callbacks, sender: Client, domain: Domain
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        host(domain)
    assert sender.get(URL, HTTP_HOST=HOST).status_code == 200  # now cached
    with django_capture_on_commit_callbacks(execute=True), scope(tenant=domain.tenant):
        domain_remove(domain=domain, actor=None)
    assert sender.get(URL, HTTP_HOST=HOST).status_code == 404


def test_a_domain_verified_again_is_served_at_once(
    django_capture_on_commit_callbacks, sender: Client, domain: Domain
) -> None:
    host(domain)
    with scopes_disabled():
        Domain.objects.filter(pk=domain.pk).update(verified_at=None)
    assert sender.get(URL, HTTP_HOST=HOST).status_code == 404  # cached as not served
    with django_capture_on_commit_callbacks(execute=True), scope(tenant=domain.tenant):
        domain_operator_verify(domain=domain)
    assert sender.get(URL, HTTP_HOST=HOST).status_code == 200
