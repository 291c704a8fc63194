"""The SMTP door's limits, driven over real SMTP on loopback: past each one a temporary
code (so a real sender retries), and everything accepted before it stored."""

import re
import smtplib

import pytest
from django.urls import reverse
from django_scopes import scope

from accounts.models import Tenant
from reports.inbound.smtp import LimitedSMTP
from reports.models import InboundMessage
from tests.conftest import wait_until
from tests.factories import make_tenant, owner_of
from tests.web import fresh_client, login

pytestmark = pytest.mark.django_db(transaction=True)


def address(tenant: Tenant, local_suffix: str = "") -> str:
    return f"{tenant.inbound_token}{local_suffix}@reports.localhost"


def stored(tenant: Tenant) -> list[bytes]:
    with scope(tenant=tenant):
        return [bytes(m.raw) for m in InboundMessage.objects.order_by("pk")]


def mail(n: int, size: int = 0) -> bytes:
    return f"Subject: report {n}\r\n\r\n".encode() + b"x" * size + b"\r\n"


def send(server: tuple[str, int], tenant: Tenant, raw: bytes) -> tuple[int, int]:
    """(RCPT code, DATA code), the DATA code 0 when RCPT was refused."""
    with smtplib.SMTP(*server) as smtp:
        smtp.ehlo()
        smtp.mail("tlsrpt@sender.example")
        code, _ = smtp.rcpt(address(tenant))
        if code != 250:
            return code, 0
        return code, smtp.data(raw)[0]


def refusals_shown(tenant: Tenant, page: str = "inbound_log") -> dict[tuple[str, str], int]:
    """(door, limit): count, as the tenant's owner sees them on ``page``."""
    client = fresh_client()
    login(client, owner_of(tenant))
    html = client.get(reverse(page, args=[tenant.slug])).content.decode()
    found = re.findall(r'data-channel="(\w+)" data-limit="(\w+)" data-count="(\d+)"', html)
    return {(door, limit): int(count) for door, limit, count in found}


def test_past_the_daily_message_quota_rcpt_gets_452_and_what_came_before_is_stored(
    smtp_server: tuple[str, int], settings
) -> None:
    settings.INBOUND_TENANT_DAILY_MESSAGES = 3
    acme, other = make_tenant("acme"), make_tenant("other")

    sent = [send(smtp_server, acme, mail(n)) for n in range(3)]
    refused = send(smtp_server, acme, mail(3))

    assert sent == [(250, 250)] * 3
    assert refused == (452, 0)
    assert stored(acme) == [mail(n) for n in range(3)]
    assert send(smtp_server, other, mail(9)) == (250, 250)
    assert refusals_shown(acme) == {("smtp", "daily_messages"): 1}
    assert refusals_shown(other) == {}


def test_a_client_repeating_a_refused_rcpt_is_refused_each_time_and_recorded_once(
    smtp_server: tuple[str, int], settings
) -> None:
    settings.INBOUND_TENANT_DAILY_MESSAGES = 1
    acme = make_tenant("acme")
    assert send(smtp_server, acme, mail(0)) == (250, 250)

    with smtplib.SMTP(*smtp_server) as smtp:
        smtp.ehlo()
        smtp.mail("tlsrpt@sender.example")
        codes = [smtp.rcpt(address(acme))[0] for _ in range(20)]

    assert codes == [452] * 20
    assert send(smtp_server, acme, mail(1)) == (452, 0)  # a new connection: a new attempt
    assert refusals_shown(acme) == {("smtp", "daily_messages"): 2}


def test_past_the_daily_bytes_data_gets_452_and_the_refused_bytes_are_given_back(
    smtp_server: tuple[str, int], settings
) -> None:
    settings.INBOUND_TENANT_DAILY_BYTES = 1000
    acme = make_tenant("acme")

    first = send(smtp_server, acme, mail(1, 500))
    too_many = send(smtp_server, acme, mail(2, 500))
    fits = send(smtp_server, acme, mail(3, 400))

    assert (first, too_many, fits) == ((250, 250), (250, 452), (250, 250))
    assert stored(acme) == [mail(1, 500), mail(3, 400)]
    assert refusals_shown(acme) == {("smtp", "daily_bytes"): 1}


def test_a_tenant_over_its_bytes_refuses_a_shared_message_for_all_and_others_keep_their_day(
    smtp_server: tuple[str, int], settings
) -> None:
    settings.INBOUND_TENANT_DAILY_BYTES = 1000
    acme, other = make_tenant("acme"), make_tenant("other")
    assert send(smtp_server, acme, mail(1, 500)) == (250, 250)

    with smtplib.SMTP(*smtp_server) as smtp:
        smtp.ehlo()
        smtp.mail("tlsrpt@sender.example")
        assert smtp.rcpt(address(acme))[0] == smtp.rcpt(address(other))[0] == 250
        code, _ = smtp.data(mail(2, 600))

    assert code == 452
    assert stored(acme) == [mail(1, 500)] and stored(other) == []
    # Had other's share of the refused message stayed reserved, 600 + 900 would not fit.
    assert send(smtp_server, other, mail(3, 900)) == (250, 250)
    assert refusals_shown(other) == {}


def test_past_the_recipients_of_a_message_rcpt_gets_452_and_the_others_get_it(
    smtp_server: tuple[str, int], settings
) -> None:
    settings.INBOUND_SMTP_MAX_RECIPIENTS = 2
    acme, other = make_tenant("acme"), make_tenant("other")

    with smtplib.SMTP(*smtp_server) as smtp:
        smtp.ehlo()
        smtp.mail("tlsrpt@sender.example")
        codes = [smtp.rcpt(a)[0] for a in (address(acme), address(acme, "+x"), address(other))]
        data = smtp.data(mail(1))[0]

    assert codes == [250, 250, 452] and data == 250
    assert stored(acme) == [mail(1)] and stored(other) == []
    assert send(smtp_server, other, mail(1)) == (250, 250)  # the sender's retry
    assert stored(other) == [mail(1)]
    assert refusals_shown(other) == {("smtp", "recipients"): 1}
    assert refusals_shown(acme) == {}


def test_a_client_address_past_its_messages_an_hour_gets_451_at_rcpt(
    smtp_server: tuple[str, int], settings
) -> None:
    settings.INBOUND_SMTP_MESSAGES_PER_HOUR = 2
    acme = make_tenant("acme")

    with smtplib.SMTP(*smtp_server) as smtp:
        codes = []
        for n in range(3):
            smtp.ehlo_or_helo_if_needed()
            smtp.mail("tlsrpt@sender.example")
            rcpt = smtp.rcpt(address(acme))[0]
            codes.append((rcpt, smtp.data(mail(n))[0] if rcpt == 250 else smtp.rset()[0]))

    assert codes == [(250, 250), (250, 250), (451, 250)]
    assert stored(acme) == [mail(0), mail(1)]
    assert refusals_shown(acme) == {("smtp", "sender_rate"): 1}


def test_past_the_connections_a_minute_the_greeting_is_421(
    smtp_server: tuple[str, int], settings
) -> None:
    settings.INBOUND_SMTP_CONNECTIONS_PER_MINUTE = 2
    acme = make_tenant("acme")

    sent = [send(smtp_server, acme, mail(n)) for n in range(2)]
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP(*smtp_server)

    assert sent == [(250, 250)] * 2
    assert refused.value.smtp_code == 421
    assert stored(acme) == [mail(0), mail(1)]


def test_past_the_connections_open_at_once_the_greeting_is_421_until_one_closes(
    smtp_server: tuple[str, int], settings
) -> None:
    settings.INBOUND_SMTP_CONCURRENT_CONNECTIONS = 2
    acme = make_tenant("acme")
    # The door counts in this process: connections of earlier tests must be gone first.
    wait_until(lambda: not LimitedSMTP.open_connections)
    first, second = smtplib.SMTP(*smtp_server), smtplib.SMTP(*smtp_server)

    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP(*smtp_server)
    assert refused.value.smtp_code == 421
    assert second.sendmail("a@sender.example", [address(acme)], mail(1)) == {}
    first.quit()

    def accepted() -> bool:
        try:
            smtplib.SMTP(*smtp_server).quit()
        except smtplib.SMTPConnectError:
            return False
        return True

    wait_until(accepted)
    second.quit()
    assert stored(acme) == [mail(1)]


def test_behind_a_mail_server_lmtp_has_no_limits_per_client_address(
    smtp_server: tuple[str, int], settings
) -> None:
    settings.INBOUND_SMTP_LMTP = True
    settings.INBOUND_SMTP_CONNECTIONS_PER_MINUTE = 1
    settings.INBOUND_SMTP_MESSAGES_PER_HOUR = 1
    acme = make_tenant("acme")
    for n in range(3):
        with smtplib.LMTP(*smtp_server) as lmtp:
            assert lmtp.sendmail("a@sender.example", [address(acme)], mail(n)) == {}
    assert stored(acme) == [mail(n) for n in range(3)]
