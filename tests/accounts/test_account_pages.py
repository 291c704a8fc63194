"""allauth's pages in the product's layout, and password reset from end to end."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from tests.accounts.test_auth import link_in
from tests.factories import make_domain, make_member, make_tenant, owner_of
from tests.web import fresh_client, login

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name",
    [
        "account_email",
        "account_change_password",
        "mfa_index",
        "mfa_activate_totp",
        "account_reauthenticate",
        "tenant_new",
    ],
)
def test_account_pages_render_in_the_layout(name: str) -> None:
    tenant = make_tenant("acme")
    client = fresh_client()
    login(client, owner_of(tenant))
    response = client.get(reverse(name))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="account-menu"' in page and "bootstrap.min.css" in page


@pytest.mark.parametrize("name", ["account_login", "account_signup", "account_reset_password"])
def test_entrance_pages_render_for_anonymous_people(name: str) -> None:
    response = fresh_client().get(reverse(name))
    assert response.status_code == 200
    assert "bootstrap.min.css" in response.content.decode()


def test_password_reset_by_emailed_link(mailoutbox: list) -> None:
    make_tenant("acme", owner="ana@example.com")
    client = fresh_client()
    client.post(reverse("account_reset_password"), {"email": "ana@example.com"})
    link = link_in(mailoutbox[-1], "/accounts/password/reset/key/")

    form = client.get(link, follow=True)
    client.post(
        form.redirect_chain[-1][0],
        {"password1": "a new long passphrase", "password2": "a new long passphrase"},
    )

    response = client.post(
        reverse("account_login"),
        {"login": "ana@example.com", "password": "a new long passphrase"},
    )
    assert response.status_code == 302 and client.session.get("_auth_user_id")


def test_lists_never_show_another_tenants_domains(client: Client) -> None:
    mine, theirs = make_tenant("mine"), make_tenant("theirs")
    make_domain(mine, "mine.example")
    make_domain(theirs, "theirs.example")
    login(client, owner_of(mine))

    for name in ("domain_list", "tenant_home"):
        page = client.get(reverse(name, args=["mine"])).content.decode()
        assert "mine.example" in page and "theirs.example" not in page


@pytest.mark.parametrize(("name", "most"), [("domain_list", 8), ("members", 9)])
def test_list_pages_cost_a_fixed_number_of_queries(
    client: Client, django_assert_max_num_queries, name: str, most: int
) -> None:
    tenant = make_tenant("acme")
    for i in range(10):
        make_domain(tenant, f"d{i}.example")
        make_member(tenant, Role.VIEWER, email=f"v{i}@example.com")
    login(client, owner_of(tenant))
    with django_assert_max_num_queries(most):
        assert client.get(reverse(name, args=["acme"])).status_code == 200
