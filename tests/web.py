"""Helpers for tests of pages: logging a person in as a real sign-in would."""

import time

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
