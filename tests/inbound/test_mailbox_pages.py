"""Mailbox pages: add and test against Dovecot, the password encrypted and never shown."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from accounts.models import AuditEvent, Tenant
from reports.inbound.mailboxes import FIELDS, mailbox_save
from reports.inbound.secrets import secret_decrypt, secret_encrypt
from reports.models import MailboxSource
from tests.factories import owner_of
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


def stored_mailbox(tenant: Tenant) -> MailboxSource:
    with scope(tenant=tenant):
        return MailboxSource.objects.create(
            tenant=tenant, name="Box", host="imap.example.org", port=993, tls_mode="ssl",
            username="reports", password_encrypted=secret_encrypt("the password"),
            uidvalidity=7, last_uid=42,
        )  # fmt: skip


def edit_values(mailbox: MailboxSource, **changes: object) -> dict[str, object]:
    values = {field: getattr(mailbox, field) for field in FIELDS}
    return {**values, "password": "", **changes}


@pytest.mark.parametrize(
    "change",
    [{"host": "imap.elsewhere.test"}, {"port": 143}, {"tls_mode": "none"}, {"username": "x"}],
)
def test_sending_the_password_elsewhere_needs_it_again(
    acme: Tenant, owner: Client, change: dict[str, object]
) -> None:
    mailbox = stored_mailbox(acme)
    edit = reverse("mailbox_edit", args=["acme", mailbox.pk])

    response = owner.post(edit, edit_values(mailbox, **change))

    assert response.status_code == 200
    assert "Enter the password again" in response.content.decode()
    with scope(tenant=acme):
        assert MailboxSource.objects.filter(pk=mailbox.pk, **change).exists() is False
    with scopes_disabled():
        assert not AuditEvent.objects.filter(action="mailbox.saved").exists()


def test_renaming_or_another_folder_keeps_the_password_and_starts_the_uids_over(
    acme: Tenant, owner: Client
) -> None:
    mailbox = stored_mailbox(acme)
    edit = reverse("mailbox_edit", args=["acme", mailbox.pk])

    owner.post(edit, edit_values(mailbox, name="Renamed", host="IMAP.Example.org."))
    mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.host, mailbox.last_uid) == ("Renamed", "imap.example.org", 42)

    owner.post(edit, edit_values(mailbox, folder="Reports"))
    mailbox.refresh_from_db()
    assert (mailbox.folder, mailbox.uidvalidity, mailbox.last_uid) == ("Reports", None, 0)
    assert secret_decrypt(mailbox.password_encrypted) == "the password"


def test_the_service_refuses_to_move_a_stored_password(acme: Tenant) -> None:
    mailbox = stored_mailbox(acme)
    values = {field: getattr(mailbox, field) for field in FIELDS} | {"host": "imap.evil.test"}
    with scope(tenant=acme), pytest.raises(ValueError, match="password is needed again"):
        mailbox_save(tenant=acme, actor=owner_of(acme), values=values, password="", mailbox=mailbox)


def test_a_port_outside_the_list_is_refused_by_the_form(acme: Tenant, owner: Client) -> None:
    values = {
        "name": "Box", "host": "imap.example.org", "port": 25, "tls_mode": "none",
        "username": "u", "password": "p", "folder": "INBOX", "processed_folder": "",
    }  # fmt: skip
    response = owner.post(reverse("mailbox_new", args=["acme"]), values)

    assert response.status_code == 200
    assert "Use port 993 or 143; mailboxes are read on no other." in response.content.decode()
    with scope(tenant=acme):
        assert not MailboxSource.objects.exists()


@pytest.mark.parametrize("host", ["imap.example.org:993", "imap example.org", "-bad.example"])
def test_a_host_that_is_not_a_name_is_refused_by_the_form(
    acme: Tenant, owner: Client, host: str
) -> None:
    values = {
        "name": "Box", "host": host, "port": 993, "tls_mode": "ssl", "username": "u",
        "password": "p", "folder": "INBOX", "processed_folder": "",
    }  # fmt: skip
    response = owner.post(reverse("mailbox_new", args=["acme"]), values)
    assert "Enter a host name such as imap.example.com." in response.content.decode()
