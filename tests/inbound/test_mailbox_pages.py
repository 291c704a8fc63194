"""Mailbox pages: add and test against Dovecot, the password encrypted and never shown."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from accounts.models import AuditEvent, Tenant
from reports.inbound.secrets import secret_decrypt, secret_encrypt
from reports.models import MailboxSource
from tests.inbound.conftest import ImapServer

pytestmark = pytest.mark.django_db


def form(server: ImapServer, user: str, password: str) -> dict[str, object]:
    return {
        "name": "Reports box", "host": server.host, "port": server.port, "tls_mode": "none",
        "username": user, "password": password, "folder": "INBOX",
        "processed_folder": "TLSRPT/Processed",
    }  # fmt: skip


def test_adding_a_mailbox_tests_it_and_keeps_the_password_secret(
    acme: Tenant, owner: Client, dovecot: ImapServer
) -> None:
    user, password = dovecot.account()
    response = owner.post(reverse("mailbox_new", args=["acme"]), form(dovecot, user, password))

    assert response.status_code == 302
    listing = owner.get(response["Location"]).content.decode()
    assert "Connected: 0 messages in INBOX." in listing
    with scope(tenant=acme):
        mailbox = MailboxSource.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT password_encrypted FROM reports_mailboxsource")
        (stored,) = cursor.fetchone()
    assert password not in stored and secret_decrypt(stored) == password
    edit = owner.get(reverse("mailbox_edit", args=["acme", mailbox.pk])).content.decode()
    assert password not in edit and stored not in edit and password not in listing

    # Saving without a password keeps the old one.
    owner.post(reverse("mailbox_edit", args=["acme", mailbox.pk]), form(dovecot, user, ""))
    mailbox.refresh_from_db()
    assert secret_decrypt(mailbox.password_encrypted) == password
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="mailbox.saved").count() == 2


def test_a_failing_mailbox_shows_its_error(
    acme: Tenant, owner: Client, dovecot: ImapServer
) -> None:
    user, _ = dovecot.account()
    owner.post(reverse("mailbox_new", args=["acme"]), form(dovecot, user, "wrong"))
    with scope(tenant=acme):
        mailbox = MailboxSource.objects.get()
    response = owner.post(reverse("mailbox_test", args=["acme", mailbox.pk]), follow=True)
    assert "Login failed: check the username and password." in response.content.decode()


def test_pause_resume_and_remove(acme: Tenant, owner: Client) -> None:
    with scope(tenant=acme):
        mailbox = MailboxSource.objects.create(
            tenant=acme, name="Box", host="127.0.0.1", port=1, tls_mode="none",
            username="u", password_encrypted=secret_encrypt("p"),
        )  # fmt: skip
    owner.post(reverse("mailbox_toggle", args=["acme", mailbox.pk]))
    mailbox.refresh_from_db()
    assert not mailbox.active
    assert "Paused" in owner.get(reverse("mailbox_list", args=["acme"])).content.decode()
    owner.post(reverse("mailbox_toggle", args=["acme", mailbox.pk]))
    mailbox.refresh_from_db()
    assert mailbox.active
    owner.post(reverse("mailbox_delete", args=["acme", mailbox.pk]))
    with scope(tenant=acme):
        assert not MailboxSource.objects.exists()


def test_keys_rotate_without_losing_a_password(acme: Tenant, settings) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    with scope(tenant=acme):
        mailbox = MailboxSource.objects.create(
            tenant=acme, name="Box", host="h", username="u",
            password_encrypted=secret_encrypt("the password"),
        )  # fmt: skip

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_secrets")
    settings.FIELD_ENCRYPTION_KEYS = [new]

    mailbox.refresh_from_db()
    assert secret_decrypt(mailbox.password_encrypted) == "the password"
