"""Every page is served with an enforced Content-Security-Policy that forbids inline script.

The tenant's pages come from the access table (tests/accounts/test_access.py), so a new
page is checked here as soon as it joins that table; the pages outside a tenant are
listed below. What runs in the browser under the policy is tested in tests/e2e/.
"""

import pytest
from django.http import HttpResponseBase
from django.test import Client
from django.urls import reverse

from tests.accounts.test_access import ROUTES, objects, url
from tests.factories import make_tenant, owner_of
from tests.web import login

pytestmark = pytest.mark.django_db

TENANT_PAGES = sorted(name for name, method in ROUTES if method == "get")
OTHER_PAGES = [
    "/",
    "/t/new/",
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/2fa/",
    "/api/v1/docs/",
    "/api/v1/docs/?script",
    "/api/v1/docs/redoc/",
    "/api/v1/schema/",
    "/api/v1/no-such-route",
    "/no-such-page/",
    "/healthz",
]
# Scripts from our own files only (no inline script, no eval); the same for styles.
STRICT = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
ANONYMOUS_PAGES = ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]


def policy(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as its directives and their sources."""
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def policy_faults(response: HttpResponseBase, path: str) -> list[str]:
    """What is missing from a strict, enforced policy on ``response`` (nothing: [])."""
    headers = response.headers
    if "Content-Security-Policy" not in headers:
        return [f"{path}: no Content-Security-Policy"]
    directives = policy(headers["Content-Security-Policy"])
    expected = {**STRICT}
    if path == reverse("api_redoc"):  # Redoc injects its styles (tlsrpt_saas/api_urls.py)
        del expected["style-src"]
    faults = [
        f"{path}: {name} {directives.get(name)}"
        for name, sources in expected.items()
        if directives.get(name) != sources
    ]
    if "Content-Security-Policy-Report-Only" in headers:
        faults.append(f"{path}: also a report-only policy")
    return faults


def test_each_tenant_page_forbids_inline_script(client: Client) -> None:
    o = objects("a")
    login(client, owner_of(o.tenant))
    faults = []
    for name in TENANT_PAGES:
        path = url(name, o, ROUTES[name, "get"][1])
        response = client.get(path)
        assert response.status_code in (200, 302), path
        faults += policy_faults(response, path)
    assert faults == []


def test_each_page_outside_a_tenant_forbids_inline_script(client: Client) -> None:
    login(client, owner_of(make_tenant("a")))
    faults = []
    for path in OTHER_PAGES:
        response = client.get(path)
        assert response.status_code in (200, 302, 404), path
        faults += policy_faults(response, path)
    assert faults == []


def test_each_page_for_visitors_forbids_inline_script(client: Client) -> None:
    faults = []
    for path in ANONYMOUS_PAGES:
        response = client.get(path)
        assert response.status_code in (200, 302), path
        faults += policy_faults(response, path)
    assert faults == []


def test_the_policy_reader_reads_directives() -> None:
    header = "default-src 'self'; img-src 'self' data:; object-src 'none'"
    assert policy(header) == {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
    }
