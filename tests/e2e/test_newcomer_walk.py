"""Issue 12's walk, end to end in Chromium, on whichever database the suite runs on.

A new person signs up and confirms, adds a domain and sees its records; an operator
verifies it and the other domains the real corpus reports on (``adddomain --verified``);
the person uploads the whole corpus, a real Celery worker processes it, and every page
a newcomer looks at answers: the overview and a domain's dashboard over 2019-2026, the
reports and one report, both CSV exports. The alert and digest jobs then run for the
tenant. No response is a 5xx and nothing is logged at ERROR or with a traceback.
"""

import csv
import io
import logging
import re
from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import Browser, Page, expect

from accounts.models import Tenant
from reports.alerts.tasks import evaluate_tenant_alerts
from reports.digests.tasks import send_tenant_digest
from reports.digests.weekly import week_of
from reports.models import InboundMessage, Status
from tests.conftest import CORPUS, wait_until
from tests.dnsserver import ZoneResolver
from tests.e2e.conftest import Screenshot
from tests.e2e.test_onboarding import confirm_email, sign_up
from tests.reports.helpers import corpus_files
from tests.reports.test_ingest_corpus import EXPECTED

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=10_000)

EMAIL = "newcomer@example.net"
FIRST = "example.com"  # added through the page; the corpus reports on it most
FROM, TO = "2019-01-01", "2026-12-31"


def expected_sessions() -> dict[str, int]:
    """Sessions counted once per verified domain, over the whole corpus.

    The fastmail report comes twice (.eml and .json.gz): the second is a duplicate.
    """
    sessions: dict[str, int] = defaultdict(int)
    for name, (domain, _, _, successful, failed, _) in EXPECTED.items():
        if name != "google-2020-03-no-policy-found-fastmail.json.gz":
            sessions[domain] += successful + failed
    return dict(sessions)


def expected_failure_details(domain: str) -> int:
    return sum(e[2] for e in EXPECTED.values() if e[0] == domain)


def mails(subject_start: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.subject.startswith(subject_start)]


def choose_range(page: Page) -> None:
    """The page's own period form: a custom range from FROM to TO."""
    page.get_by_label("From", exact=True).fill(FROM)
    page.get_by_label("To", exact=True).fill(TO)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(rf"from={FROM}&to={TO}"))
    expect(page.locator("#period-error")).to_have_count(0)
    expect(page.get_by_label("From", exact=True)).to_have_value(FROM)
    expect(page.get_by_label("To", exact=True)).to_have_value(TO)


def csv_rows(page: Page, base: str, link: str, answers: list) -> list[dict[str, str]]:
    """The CSV behind the page's link, fetched with the browser's own session."""
    href = page.get_by_role("link", name=link).get_attribute("href")
    assert href and f"from={FROM}" in href and f"to={TO}" in href
    response = page.request.get(base + href)
    answers.append((response.status, response.url))
    assert response.status == 200, response.text()
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text())))


def test_a_newcomer_walks_from_sign_up_to_the_dashboards_and_the_jobs(
    celery_worker: object,  # first: stopped last, once the browser has let go
    browser: Browser,
    live: str,
    dns: ZoneResolver,
    screenshot: Screenshot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    context = browser.new_context()
    answers: list[tuple[int, str]] = []
    context.on("response", lambda r: answers.append((r.status, r.url)))
    script_errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda e: script_errors.append(str(e)))

    # 1. Sign up, confirm, land on the new tenant.
    sign_up(page, live, EMAIL, team="Newcomer Mail")
    confirm_email(page, live, EMAIL)
    expect(page.get_by_role("heading", name="Getting started")).to_be_visible()
    in_tenant = re.search(r"/t/([^/]+)/", page.url)
    assert in_tenant, page.url
    slug = in_tenant.group(1)
    tenant = Tenant.objects.get(slug=slug)
    screenshot(page, "walk-01-tenant-onboarding")

    # 2. Add a domain on the page; its records and health panel.
    page.get_by_role("link", name="Add your first domain").click()
    page.get_by_role("textbox", name="Domain").fill(FIRST)
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_role("heading", name=FIRST)).to_be_visible()
    expect(page.locator("#verify-name")).to_have_text(f"_tlsrpt-verify.{FIRST}")
    expect(page.locator("#verify-value")).to_have_text(re.compile(r"\S{16,}"))
    expect(page.locator("#tlsrpt-name")).to_have_text(f"_smtp._tls.{FIRST}")
    record = f"v=TLSRPTv1; rua=mailto:{tenant.inbound_address}"
    expect(page.locator("#tlsrpt-value")).to_have_text(record)
    expect(page.locator("#domain-health")).to_contain_text("start once the domain is verified")
    screenshot(page, "walk-02-domain-records")
    domain_page = page.url

    # 3. The operator verifies it, and adds and verifies the corpus's other domains.
    dns.add_txt(f"_smtp._tls.{FIRST}", record)  # published as the page says
    for name in sorted({e[0] for e in EXPECTED.values()}):
        call_command("adddomain", slug, name, "--verified", stdout=io.StringIO())
    page.goto(domain_page)
    expect(page.locator("#verified-by")).to_contain_text("Verified by an operator")
    expect(page.locator("#ownership-not-needed")).to_be_visible()
    page.get_by_role("button", name="Check now").click()
    # The panel polls its fragment until the worker has run the checks.
    expect(page.locator("#domain-health .check")).to_have_count(4, timeout=30_000)
    expect(page.locator("#health-running")).to_have_count(0)
    expect(page.locator("#check-tlsrpt")).to_have_class(re.compile(r"\bcheck-ok\b"))
    expect(page.locator("#verified-by")).to_contain_text("Verified by an operator")
    fragment = page.request.get(f"{domain_page}health")
    answers.append((fragment.status, fragment.url))
    assert fragment.status == 200 and 'id="check-tlsrpt"' in fragment.text()
    screenshot(page, "walk-03-domain-verified-by-operator")

    # 4. Upload the whole corpus; the worker processes it.
    names = corpus_files()
    page.get_by_role("link", name="Upload", exact=True).click()
    page.get_by_label("Report files").set_input_files([str(CORPUS / n) for n in names])
    page.get_by_role("button", name="Upload").click()
    rows = page.locator("#uploaded tr[data-message]")
    expect(rows).to_have_count(len(names))
    expect(page.locator("#uploaded tr[data-status=received]")).to_have_count(0, timeout=60_000)
    expect(page.locator("#uploaded h2")).not_to_contain_text("processing")
    screenshot(page, "walk-04-uploaded")
    page.get_by_role("link", name="Ingest log").click()
    log = page.locator("#inbound tr[data-message]")
    expect(log).to_have_count(len(names))
    expect(log.and_(page.locator("[data-status=processed]"))).to_have_count(len(names) - 1)
    duplicate = log.and_(page.locator("[data-status=duplicate]"))
    expect(duplicate).to_have_count(1)
    expect(duplicate).to_contain_text("google-2020-03-no-policy-found-fastmail")
    screenshot(page, "walk-05-ingest-log")
    with scope(tenant=tenant):
        outcomes = Counter(InboundMessage.objects.values_list("status", flat=True))
    assert outcomes == {Status.PROCESSED: len(names) - 1, Status.DUPLICATE: 1}

    # 5. The pages a newcomer reads.
    sessions = expected_sessions()
    page.get_by_role("link", name="Overview").click()
    choose_range(page)
    for name, count in sessions.items():
        card = page.locator(f"#domain-cards article[data-domain='{name}']")
        expect(card).to_have_attribute("data-sessions", str(count))
    screenshot(page, "walk-06-overview")

    page.locator(f"#domain-cards article[data-domain='{FIRST}'] a").first.click()
    expect(page.get_by_role("heading", name=FIRST)).to_be_visible()
    choose_range(page)
    expect(page.get_by_text(f"{FROM} to {TO} (report days, UTC)")).to_be_visible()
    assert sessions[FIRST] > 0
    expect(page.locator("[data-total=sessions]")).to_have_text(str(sessions[FIRST]))
    drawn = page.evaluate("() => !!Chart.getChart(document.getElementById('daily-chart'))")
    assert drawn
    screenshot(page, "walk-07-domain-dashboard")

    failures = csv_rows(page, live, "Failure details (CSV)", answers)
    assert len(failures) == expected_failure_details(FIRST) > 0
    assert {r["domain"] for r in failures} == {FIRST}
    daily = csv_rows(page, live, "Daily figures (CSV)", answers)
    assert daily and {r["domain"] for r in daily} == {FIRST}
    counted = sum(int(r["counted_successful"]) + int(r["counted_failed"]) for r in daily)
    assert counted == sessions[FIRST]

    page.get_by_role("link", name="Reports", exact=True).click()
    expect(page.locator("#reports tr[data-report]")).to_have_count(len(names) - 1)
    screenshot(page, "walk-08-reports")
    page.locator("#reports tr[data-report] a").first.click()
    expect(page.locator("#raw-json")).to_be_visible()
    screenshot(page, "walk-09-report-detail")

    # 6. The hourly alert evaluation and the weekly digest, for this tenant.
    evaluated = evaluate_tenant_alerts(tenant.pk)
    outcome = re.fullmatch(r"opened (\d+), resolved 0", evaluated)
    assert outcome, evaluated
    opened = int(outcome.group(1))
    # Each new alert is emailed to the owner by the worker, once.
    wait_until(lambda: len(mails("[TLS-RPT alert]")) == opened)
    last_week = week_of(timezone.now().date() - timedelta(days=7)).start
    busy_week = week_of(date(2026, 5, 11)).start  # example.com's fastmail reports
    for week in (last_week, busy_week):
        assert send_tenant_digest(tenant.pk, week.isoformat()) == "sent 1"
    assert [m.to for m in mails("TLS-RPT weekly")] == [[EMAIL], [EMAIL]]
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Newcomer Mail")).to_be_visible()
    screenshot(page, "walk-10-overview-after-jobs")

    # 7. Nothing broke on the way.
    context.close()
    assert [a for a in answers if a[0] >= 500] == []
    assert script_errors == []
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert [f"{r.name}: {r.getMessage()}" for r in logged] == []
