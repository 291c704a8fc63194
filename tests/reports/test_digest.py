"""The weekly digest: delivered over SMTP to a real server, its figures the dashboards'.

Data: real reports of the corpus for example.com in February 2024 (Microsoft on the
16th and Google on the 17th, all successful; Mail.ru's MTA-STS fetch error on the 22nd)
and built ones for example.net. The digest week is Mon 19 to Sun 25 Feb 2024.
"""

import json
import re
import socket
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from allauth.account.models import EmailAddress
from celery.signals import task_postrun
from django.conf import settings
from django.core import signing
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.models import AuditEvent, Membership, Role, Tenant, User
from domains.findings import Finding, Level
from domains.models import CheckKind, CheckStatus, DnsCheck, Domain
from reports.dashboards import periods, selectors
from reports.dashboards.advice import advice
from reports.digests.models import DigestDelivery
from reports.digests.tasks import queue_weekly_digests, send_tenant_digest
from reports.digests.weekly import digest_due, digest_send, unsubscribe_token, week_of
from tests.conftest import wait_until
from tests.factories import PASSWORD, make_domain, make_member, make_tenant
from tests.reports.helpers import corpus, ingest
from tests.reports.mail import report_json
from tlsrpt_saas.celery import app as celery_app

WEEK = periods.Period(date(2024, 2, 19), date(2024, 2, 25))
STS_PROBLEM = Finding(
    Level.ERROR,
    "sts_policy_unreachable",
    "The MTA-STS policy at https://mta-sts.example.com/.well-known/mta-sts.txt answered 404.",
    "Serve the policy file at https://mta-sts.example.com/.well-known/mta-sts.txt.",
)


@dataclass
class Acme:
    tenant: Tenant
    com: Domain
    net: Domain
    opted_out: Membership
    beta_domain: Domain

    @property
    def domains(self) -> list[Domain]:
        return [self.com, self.net]


def _acme() -> Acme:
    tenant = make_tenant("acme")  # owner@acme.test
    make_member(tenant, Role.VIEWER)  # viewer@acme.test
    opted_out = make_member(tenant, Role.MEMBER)
    Membership.objects.filter(pk=opted_out.pk).update(weekly_digest=False)
    unverified = User.objects.create_user("unverified@acme.test", PASSWORD)
    EmailAddress.objects.create(user=unverified, email=unverified.email, primary=True)
    Membership.objects.create(user=unverified, tenant=tenant, role=Role.ADMIN)
    make_domain(tenant, "pending.example", verified=False)
    com, net = make_domain(tenant, "example.com"), make_domain(tenant, "example.net")
    for name in (
        "microsoft-2024-02-sts-enforce-anonymised.json",
        "google-2024-02-sts-enforce-53-sessions-anonymised.json",
        "mailru-2024-02-sts-fetch-error.json",
    ):
        ingest(tenant, corpus(name), name)
    for day, ok, failed in (("2024-02-13", 50, 0), ("2024-02-23", 40, 5)):
        document = report_json(
            domain="example.net", organization="Google", successful=ok, failed=failed, day=day
        )
        ingest(tenant, _json(document))
    DnsCheck.objects.create(
        tenant=tenant, domain=com, kind=CheckKind.MTA_STS, status=CheckStatus.ERROR,
        findings=[STS_PROBLEM.as_dict()],
    )  # fmt: skip
    beta = make_tenant("beta")
    beta_domain = make_domain(beta, "beta-only.example")
    ingest(beta, _json(report_json(domain="beta-only.example", day="2024-02-21")))
    return Acme(tenant, com, net, opted_out, beta_domain)


def _json(document: dict) -> bytes:
    return json.dumps(document).encode()


@pytest.fixture
def data(db) -> Acme:
    return _acme()


def send(tenant: Tenant, week_start: date = WEEK.start) -> int:
    with scope(tenant=tenant.pk):
        return digest_send(tenant=tenant, week_start=week_start)


def bodies(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content().replace("\r\n", "\n"), html.get_content()


class _Tables(HTMLParser):
    """The HTML's text, and the cells of every table row (nested rows apart)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.rows: list[list[str]] = []
        self.bars: list[tuple[str, str | None, str]] = []  # (class, width, style) of bars
        self._open: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tr":
            self._open.append([])
        elif tag in ("td", "th") and self._open:
            self._open[-1].append("")
        found = dict(attrs)
        if tag == "td" and found.get("class") in ("bar", "bar-ok"):
            self.bars.append((found["class"], found.get("width"), found.get("style", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._open:
            self.rows.append([" ".join(cell.split()) for cell in self._open.pop()])

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open and self._open[-1]:
            self._open[-1][-1] += data


def tables(html: str) -> _Tables:
    parser = _Tables()
    parser.feed(html)
    return parser


def plain(html: str) -> str:
    return " ".join("".join(tables(html).text).split())


def section(text: str, domain: str) -> str:
    """The text part's section about ``domain``."""
    match = re.search(rf"^== {re.escape(domain)}: .*?(?=^== |^--$)", text, re.S | re.M)
    assert match, f"no section for {domain}"
    return match.group(0)


def rate(value: float | None) -> str:
    return f"{value:g} %"


def test_each_member_who_wants_it_gets_one(data: Acme, mail_sink) -> None:
    assert send(data.tenant) == 2
    assert sorted(r.rcpt_tos[0] for r in mail_sink.received) == [
        "owner@acme.test", "viewer@acme.test"
    ]  # fmt: skip
    assert all(len(r.rcpt_tos) == 1 for r in mail_sink.received)
    message = mail_sink.messages[0]
    # Django folds a long encoded subject after "Subject:", hence the strip().
    subject = "TLS-RPT weekly: Acme — 2 domains, 2 with failures (19\u201325 Feb)"
    assert message["Subject"].strip() == subject
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    with scopes_disabled():
        sent = DigestDelivery.objects.filter(tenant=data.tenant, week_start=WEEK.start)
        assert sent.count() == 2
        assert all(d.sent_at is not None for d in sent)


def test_the_figures_are_the_dashboards(data: Acme, mail_sink) -> None:
    send(data.tenant)
    text, html = bodies(mail_sink.messages[0])
    rows = tables(html).rows
    with scope(tenant=data.tenant.pk):
        expected = {
            d.name: (selectors.domain_totals(d, WEEK), selectors.domain_totals(d, WEEK.previous()))
            for d in data.domains
        }
    assert (expected["example.com"][0].sessions, expected["example.com"][0].failed) == (1, 1)
    assert expected["example.net"][0].success_rate == 88.89
    for name, (now, before) in expected.items():
        part = section(text, name)
        assert f"Sessions:     {now.sessions} ({now.sessions - before.sessions:+d} vs " in part
        assert f"Failed:       {now.failed}\n" in part
        assert now.success_rate is not None and before.success_rate is not None
        points = f"{now.success_rate - before.success_rate:+g} points"
        assert f"Success rate: {rate(now.success_rate)} ({points} vs previous week)" in part
        summary = next(r for r in rows if r and r[0] == name)
        assert summary[1] == "✖ Failures"
        assert summary[2:5] == [str(now.sessions), str(now.failed), rate(now.success_rate)]
    # Worst first, as on the overview; the unverified domain is not in it.
    assert text.index("== example.net") < text.index("== example.com")
    assert "pending.example" not in text + html


def test_top_failure_types_with_their_fix(data: Acme, mail_sink) -> None:
    send(data.tenant)
    text, html = bodies(mail_sink.messages[0])
    with scope(tenant=data.tenant.pk):
        top = {d.name: selectors.failures_by(d, WEEK, "result_type")[0][0] for d in data.domains}
    assert top == {"example.com": "sts-policy-fetch-error", "example.net": "certificate-expired"}
    for name, result_type in top.items():
        explained = advice(result_type, name)
        assert f"Fix: {explained.fix}" in section(text, name)
        assert f"Fix: {explained.fix}" in plain(html)
        assert explained.title in plain(html)
    assert "mta-sts.example.com" in advice("sts-policy-fetch-error", "example.com").fix


def test_new_and_silent_reporters(data: Acme, mail_sink) -> None:
    send(data.tenant)
    text, html = bodies(mail_sink.messages[0])
    com = section(text, "example.com")
    assert "New reporters: Mail.ru\n" in com
    assert "- Google Inc., last report Sat 17 Feb" in com
    assert "- Microsoft Corporation, last report Fri 16 Feb" in com
    net = section(text, "example.net")
    assert "New reporters" not in net and "Silent" not in net
    assert "New reporters: Mail.ru" in plain(html)


def test_dns_findings_with_their_fix(data: Acme, mail_sink) -> None:
    send(data.tenant)
    text, html = bodies(mail_sink.messages[0])
    com = section(text, "example.com")
    assert f"- MTA-STS (error): {STS_PROBLEM.message}\n  Fix: {STS_PROBLEM.fix}" in com
    assert "DNS findings" not in section(text, "example.net")
    assert f"✖ Error MTA-STS: {STS_PROBLEM.message} Fix: {STS_PROBLEM.fix}" in plain(html)


def test_links_to_the_dashboards_of_the_week(data: Acme, mail_sink) -> None:
    send(data.tenant)
    text, html = bodies(mail_sink.messages[0])
    dashboard = f"{settings.SITE_URL}/t/acme/domains/{data.com.pk}/dashboard/"
    url = f"{dashboard}?from=2024-02-19&to=2024-02-25"
    assert f"Dashboard: {url}" in section(text, "example.com")
    assert f'href="{url.replace("&", "&amp;")}"' in html
    assert f"{settings.SITE_URL}/t/acme/?from=2024-02-19" in text


def test_the_html_is_inlined_without_images_or_scripts(data: Acme, mail_sink) -> None:
    send(data.tenant)
    _, html = bodies(mail_sink.messages[0])
    assert "<style" not in html
    assert 'style="' in html and "background" in html
    assert "<img" not in html and "<script" not in html
    # The success-rate bars: tables of fixed-width cells (88.89 % of 120 px; 0 %).
    bars = tables(html).bars
    assert [(cls, width) for cls, width, _ in bars] == [
        ("bar-ok", "107"), ("bar", "13"), ("bar", "120")
    ]  # fmt: skip
    assert all("background: #" in style for _, _, style in bars)


def test_one_click_unsubscribe_from_the_link(data: Acme, mail_sink) -> None:
    send(data.tenant)
    message = next(m for m in mail_sink.messages if m["To"] == "viewer@acme.test")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(.+)>", message["List-Unsubscribe"].strip())
    assert link is not None
    url = link.group(1)
    assert url.startswith(f"{settings.SITE_URL}/digest/unsubscribe/")
    assert url in bodies(message)[0]
    path = url.removeprefix(settings.SITE_URL)

    client = Client(enforce_csrf_checks=True)  # as a mail client: no cookie, no token
    page = client.get(path)
    assert page.status_code == 200 and b"Stop the weekly digest" in page.content
    viewer = Membership.objects.get(tenant=data.tenant, user__email="viewer@acme.test")
    assert viewer.weekly_digest  # a GET (link preview, scanner) changes nothing
    response = client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    viewer.refresh_from_db()
    assert not viewer.weekly_digest
    with scopes_disabled():
        assert AuditEvent.objects.filter(tenant=data.tenant, action="digest.unsubscribe").exists()

    mail_sink.clear()
    assert send(data.tenant, WEEK.start + timedelta(days=7)) == 1
    assert [r.rcpt_tos for r in mail_sink.received] == [["owner@acme.test"]]


def test_the_page_turns_it_back_on(data: Acme) -> None:
    path = f"/digest/unsubscribe/{unsubscribe_token(data.opted_out)}"
    page = Client().get(path)
    assert b"Turn it back on" in page.content
    Client().post(path, {"action": "subscribe"})
    data.opted_out.refresh_from_db()
    assert data.opted_out.weekly_digest


def test_each_member_switches_their_own_digest_on_the_members_page(data: Acme, mail_sink) -> None:
    from django.urls import reverse

    from tests.web import login

    client = Client()
    login(client, data.opted_out.user)
    members = reverse("members", args=[data.tenant.slug])
    page = client.get(members).content.decode()
    found = re.search(r'<input[^>]*id="weekly_digest"[^>]*>', page)
    assert found is not None
    switch = found.group(0)
    assert "checked" not in switch

    response = client.post(reverse("digest_preference", args=[data.tenant.slug]), {
        "weekly_digest": "on"
    })  # fmt: skip

    assert response.status_code == 302 and response["Location"] == members
    data.opted_out.refresh_from_db()
    assert data.opted_out.weekly_digest
    assert "is on" in client.get(members).content.decode()
    with scopes_disabled():
        event = AuditEvent.objects.get(tenant=data.tenant, action="digest.subscribe")
    assert event.actor_id == data.opted_out.user_id
    assert send(data.tenant) == 3

    client.post(reverse("digest_preference", args=[data.tenant.slug]), {})
    data.opted_out.refresh_from_db()
    assert not data.opted_out.weekly_digest


def test_a_tampered_or_foreign_token_is_refused(data: Acme) -> None:
    token = unsubscribe_token(data.opted_out)
    other = Membership.objects.exclude(pk=data.opted_out.pk).first()
    assert other is not None
    other_pk = other.pk
    payload = signing.b64_encode(str(other_pk).encode()).decode()
    forged = ":".join([payload, *token.split(":")[1:]])  # another member, same signature
    other_salt = signing.dumps(other_pk, salt="something-else")
    for bad in (forged, token[:-1] + ("A" if token[-1] != "A" else "B"), other_salt):
        client = Client()
        assert client.get(f"/digest/unsubscribe/{bad}").status_code == 404
        assert client.post(f"/digest/unsubscribe/{bad}", {}).status_code == 404
    assert Membership.objects.filter(weekly_digest=False).count() == 1


def test_nothing_for_a_tenant_without_verified_domains(mail_sink, db) -> None:
    empty = make_tenant("empty")
    assert send(empty) == 0
    make_domain(empty, "pending.example", verified=False)
    assert send(empty) == 0
    assert mail_sink.received == []
    with scopes_disabled():
        assert not DigestDelivery.objects.exists()


def test_nothing_when_the_tenant_turned_digests_off(data: Acme, mail_sink) -> None:
    Tenant.objects.filter(pk=data.tenant.pk).update(weekly_digest=False)
    data.tenant.refresh_from_db()
    assert send(data.tenant) == 0
    assert mail_sink.received == []


def test_never_two_digests_for_one_week(data: Acme, mail_sink) -> None:
    assert send(data.tenant) == 2
    assert send(data.tenant) == 0
    assert len(mail_sink.received) == 2


def test_a_failed_send_is_retried_not_lost(data: Acme, mail_sink, settings) -> None:
    settings.EMAIL_PORT = _closed_port()
    with pytest.raises(OSError):
        send(data.tenant)
    with scopes_disabled():
        assert not DigestDelivery.objects.exists()
    settings.EMAIL_PORT = mail_sink.port
    assert send(data.tenant) == 2


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_of_another_tenant(data: Acme, mail_sink) -> None:
    send(data.tenant)
    for message in mail_sink.messages:
        text, html = bodies(message)
        assert "beta-only.example" not in text + html + message["Subject"]
    mail_sink.clear()
    beta = data.beta_domain.tenant
    assert send(beta) == 1
    text, html = bodies(mail_sink.messages[0])
    assert "beta-only.example" in text
    assert "example.com" not in text + html and "example.net" not in text + html
    assert mail_sink.received[0].rcpt_tos == ["owner@beta.test"]


@pytest.mark.parametrize(
    ("local", "due"),
    [
        ("2026-11-30 06:59", None),  # Monday, before 07:00
        ("2026-11-30 07:00", date(2026, 11, 23)),
        ("2026-11-30 23:59", date(2026, 11, 23)),
        ("2026-12-01 09:00", None),  # Tuesday
    ],
)
def test_due_from_seven_on_the_digest_day_in_the_tenant_zone(local: str, due) -> None:
    tenant = Tenant(slug="x", time_zone="Pacific/Auckland", digest_weekday=0)
    moment = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("Pacific/Auckland"))
    assert digest_due(tenant, moment.astimezone(ZoneInfo("UTC"))) == due


def test_the_tasks_go_to_the_mail_queue() -> None:
    for task in (queue_weekly_digests, send_tenant_digest):
        assert celery_app.amqp.router.route({}, task.name)["queue"].name == "mail"
    entry = settings.CELERY_BEAT_SCHEDULE["weekly-digests"]
    assert entry["task"] == queue_weekly_digests.name


def _zone_where_it_is_morning_or_later(now: datetime) -> str:
    """A fixed-offset zone whose local time is between 08:00 and 22:59 now."""
    for offset in range(-11, 15):
        zone = f"Etc/GMT{-offset:+d}"  # POSIX sign: Etc/GMT-14 is UTC+14
        if 8 <= now.astimezone(ZoneInfo(zone)).hour <= 22:
            return zone
    raise AssertionError("unreachable: 26 offsets cover every hour")


@pytest.mark.celery_worker
def test_the_beat_job_twice_delivers_once(celery_worker, mail_sink) -> None:
    now = timezone.now()
    zone = _zone_where_it_is_morning_or_later(now)
    local = now.astimezone(ZoneInfo(zone)).date()
    tenant = make_tenant("acme")
    Tenant.objects.filter(pk=tenant.pk).update(time_zone=zone, digest_weekday=local.weekday())
    make_member(tenant, Role.VIEWER)
    make_tenant("idle")  # no domains: nothing queued for it
    week_start = week_of(local).start - timedelta(days=7)
    make_domain(tenant, "example.org")
    day = (week_start + timedelta(days=2)).isoformat()
    ingest(tenant, _json(report_json(domain="example.org", day=day)))

    finished: list[tuple[str, object]] = []
    lock = threading.Lock()

    def record(sender=None, retval=None, **kwargs) -> None:
        with lock:
            finished.append((sender.name, retval))

    def done(name: str) -> list:
        with lock:
            return [r for n, r in finished if n == name]

    task_postrun.connect(record, weak=False)
    try:
        queue_weekly_digests.delay()
        queue_weekly_digests.delay()
        wait_until(lambda: len(done(queue_weekly_digests.name)) == 2)
        queued = sum(done(queue_weekly_digests.name))
        assert queued >= 1
        wait_until(lambda: len(done(send_tenant_digest.name)) == queued)
        assert sorted(r.rcpt_tos[0] for r in mail_sink.received) == [
            "owner@acme.test", "viewer@acme.test"
        ]  # fmt: skip
        subject = mail_sink.messages[0]["Subject"].strip()
        assert subject.startswith("TLS-RPT weekly: Acme — 1 domain, 1 with failures")
        # Once delivered, the next hourly runs of the day queue nothing.
        assert queue_weekly_digests() == 0
    finally:
        task_postrun.disconnect(record)
    with scopes_disabled():
        rows = DigestDelivery.objects.filter(tenant=tenant, week_start=week_start)
        assert rows.count() == 2 and all(r.sent_at for r in rows)
