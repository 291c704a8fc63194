"""Helpers for tests of pages: clients, and logging a person in as a real sign-in would."""

import time
import uuid

from django.test import Client

from accounts.models import User


def login(client: Client, user: User, *, reauthenticated_ago: float | None = 0.0) -> None:
    """Log ``user`` in; by default as if they had just confirmed their password again.

    Sensitive actions ask for the password again unless allauth recorded a confirmation
    within ``ACCOUNT_REAUTHENTICATION_TIMEOUT``; None records none.
    """
    client.force_login(user)
    if reauthenticated_ago is None:
        return
    session = client.session
    session["account_authentication_methods_user"] = str(user.pk)
    session["account_authentication_methods"] = [
        {"method": "password", "at": time.time() - reauthenticated_ago, "reauthenticated": True}
    ]
    session.save()


def fresh_client() -> Client:
    """A client from an address of its own: rate limits count per address, in Redis."""
    n = uuid.uuid4().int
    return Client(REMOTE_ADDR=f"10.{n % 250}.{n // 250 % 250}.{n // 62500 % 250 + 1}")
