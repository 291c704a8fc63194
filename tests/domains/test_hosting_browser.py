"""The MTA-STS hosting page in a real browser, and the policy from the real live server."""

import http.client
from urllib.parse import urlsplit

import pytest
from django_scopes import scope
from playwright.sync_api import Browser, expect

from domains.hosting.models import HostedPolicy
from tests.e2e.conftest import Screenshot, browser, csp_violations, live, screenshot
from tests.factories import PASSWORD, make_domain, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=10_000)
__all__ = ["browser", "csp_violations", "live", "screenshot"]  # fixtures, used by name


def get(live: str, host: str, method: str = "GET") -> http.client.HTTPResponse:
    address = urlsplit(live)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    connection.request(method, "/.well-known/mta-sts.txt", headers={"Host": host})
    return connection.getresponse()


def test_an_admin_turns_hosting_on_and_the_policy_is_served(
    browser: Browser, live: str, screenshot: Screenshot
) -> None:
    tenant = make_tenant("acme")
    domain = make_domain(tenant, "acme.test", mx_hosts=["mx1.acme.test", "mx2.acme.test"])
    assert get(live, "mta-sts.acme.test").status == 404

    page = browser.new_page()
    page.goto(live + "/accounts/login/")
    page.get_by_label("Email").fill("owner@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live}/t/acme/domains/{domain.pk}/")
    page.locator("#mta-sts-hosting-link").click()
    expect(page.get_by_label("MX patterns")).to_have_value("mx1.acme.test\nmx2.acme.test")
    hosting = page.get_by_label("Host the MTA-STS policy of this domain")
    expect(page.locator("#id_enabled_helptext")).to_have_text(
        "Served at this domain's mta-sts. name once the CNAME below is published."
    )
    hosting.check()
    page.get_by_label("Mode").select_option("testing")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_text("Saved the MTA-STS hosting of acme.test.")).to_be_visible()

    with scope(tenant=tenant):
        policy = HostedPolicy.objects.get(domain=domain)
    expect(page.locator("#txt-value")).to_have_text(f"v=STSv1; id={policy.policy_id}")
    expect(page.locator("#versions")).to_contain_text("owner@acme.test")
    screenshot(page, "mta-sts-hosting")

    served = get(live, "mta-sts.acme.test:443")
    assert (served.status, served.getheader("Content-Type")) == (200, "text/plain")
    assert served.read() == (
        b"version: STSv1\r\nmode: testing\r\nmx: mx1.acme.test\r\nmx: mx2.acme.test\r\n"
        b"max_age: 86400\r\n"
    )
    assert served.getheader("Set-Cookie") is None
    head = get(live, "mta-sts.acme.test", "HEAD")
    assert (head.status, head.read()) == (200, b"")
