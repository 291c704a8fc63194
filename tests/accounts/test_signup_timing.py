"""Sign-up costs the same for an address with an account as for a new one: one password
hash each, the same answer, one email each; so its timing tells nothing."""

from typing import Any, ClassVar

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, make_tenant
from tests.web import fresh_client

pytestmark = pytest.mark.django_db


class CountingHasher(MD5PasswordHasher):
    """A real hasher (MD5, as the suite uses) that counts the passwords it hashes."""

    algorithm = "counting_md5"
    hashed: ClassVar[int] = 0

    def encode(self, password: str, salt: str) -> str:
        type(self).hashed += 1
        return super().encode(password, salt)


@pytest.fixture(autouse=True)
def counting_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]


def sign_up(client: Client, email: str) -> tuple[int, str, int, int]:
    """Status, Location, passwords hashed and emails sent by one sign-up."""
    CountingHasher.hashed, sent = 0, len(mail.outbox)
    response = client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD, "team": ""},
    )
    return (
        response.status_code,
        response.get("Location", ""),
        CountingHasher.hashed,
        len(mail.outbox) - sent,
    )


def test_a_taken_address_hashes_once_and_answers_like_a_new_one() -> None:
    make_tenant("acme", owner="known@example.com")
    taken = sign_up(fresh_client(), "known@example.com")
    new = sign_up(fresh_client(), "new@example.com")
    assert new == (302, reverse("account_email_verification_sent"), 1, 1)
    assert taken == new
    assert User.objects.filter(email="known@example.com").count() == 1


def test_adding_a_taken_address_to_an_account_hashes_nothing(owner: Client) -> None:
    make_tenant("other", owner="known@example.com")
    CountingHasher.hashed, sent = 0, len(mail.outbox)
    response = owner.post(
        reverse("account_email"), {"action_add": "", "email": "known@example.com"}
    )
    assert response.status_code == 302
    assert [m.to for m in mail.outbox[sent:]] == [["known@example.com"]]  # "already exists"
    assert CountingHasher.hashed == 0
