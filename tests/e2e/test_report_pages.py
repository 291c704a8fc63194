"""The report page and the ingest log in Chromium, light and dark, at 360, 1,024 and
1,440 px: nothing scrolls sideways, the copy button copies the JSON as shown, and the
screenshots are saved for a person to look at."""

import gzip
import io
import json
import zipfile
from typing import Literal

import pytest
from django_scopes import scope
from playwright.sync_api import Browser, Page, expect

from reports.models import Report
from tests.e2e.conftest import Screenshot
from tests.factories import PASSWORD, make_domain, make_tenant
from tests.reports.helpers import corpus, ingest
from tests.reports.mail import report_json
from tests.tlsrpt.builders import as_crlf, report_mail
from tests.tlsrpt.postfix import EHLO, postfix_filename, postfix_json

pytestmark = pytest.mark.django_db(transaction=True)
expect.set_options(timeout=10_000)

WIDTHS = (360, 1024, 1440)
SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")


def postfix_mail() -> bytes:
    """A Postfix (sys4 tlsrpt-reporter) report: two failure types, a multi-line EHLO."""
    attachment = gzip.compress(postfix_json("example.com", helo=EHLO.format(domain="example.com")))
    return as_crlf(report_mail(attachment, filename=postfix_filename("example.com")))


def two_reports() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for org in ("Google", "Microsoft"):
            document = report_json(domain="example.com", organization=org, day="2025-10-02")
            archive.writestr(f"{org}.json", json.dumps(document))
    return buffer.getvalue()


def log_in(browser: Browser, live: str) -> Page:
    page = browser.new_page()
    page.goto(f"{live}/accounts/login/")
    page.get_by_label("Email").fill("ana@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(f"{live}/accounts/login/")
    return page


def shoot_everywhere(page: Page, url: str, name: str, screenshot: Screenshot) -> None:
    """The page in each scheme and width: no sideways scroll, then a screenshot."""
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(url)
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} at {width} px ({scheme}) scrolls {overflow} px sideways"
            screenshot(page, f"{name}-{width}-{scheme}")


def test_the_report_page_in_each_width_and_theme(
    browser: Browser, live: str, screenshot: Screenshot
) -> None:
    tenant = make_tenant("acme", owner="ana@example.com")
    make_domain(tenant, "example.com")
    make_domain(tenant, "test.mailflow.ovh")
    ingest(tenant, postfix_mail())
    ingest(tenant, corpus("google-2020-02-three-policies-validation-failures-mailflow.json"))
    with scope(tenant=tenant):
        postfix = Report.objects.get(policies__policy_domain="example.com")
        google = Report.objects.filter(organization__startswith="Google").first()
        domain_id = postfix.policies.values_list("domain_id", flat=True).first()
        dashboard = f"{live}/t/acme/domains/{domain_id}/dashboard/"
    assert google is not None
    page = log_in(browser, live)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    url = f"{live}/t/acme/reports/{postfix.pk}/"
    shoot_everywhere(page, url, "report-postfix-helo", screenshot)
    shoot_everywhere(page, f"{live}/t/acme/reports/{google.pk}/", "report-google", screenshot)
    shoot_everywhere(page, f"{live}/t/acme/reports/", "report-list", screenshot)

    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(url)
    expect(page.locator("#failure-types [data-result-type]")).to_have_count(2)
    expect(page.locator("#details pre.receiving-mx-helo").first).to_be_visible()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live)
    page.get_by_role("button", name="Copy").click()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert json.loads(copied) == json.loads(postfix.raw_json)
    assert copied == (page.locator("#raw-json").text_content() or "").strip()
    assert errors == []
    page.get_by_role("link", name="Dashboard for 2025-10-01").click()
    expect(page).to_have_url(f"{dashboard}?from=2025-10-01&to=2025-10-01")


def test_the_ingest_log_in_each_width_and_theme(
    browser: Browser, live: str, screenshot: Screenshot
) -> None:
    tenant = make_tenant("acme", owner="ana@example.com")
    make_domain(tenant, "example.com")
    ingest(tenant, postfix_mail())
    ingest(tenant, postfix_mail())  # a duplicate
    ingest(tenant, two_reports(), "two.zip")
    ingest(tenant, corpus("google-2024-02-sts-enforce-53-sessions-anonymised.json"))  # example.com
    ingest(tenant, corpus("mailru-2024-02-sts-fetch-error.json"))
    ingest(tenant, corpus("google-2025-03-no-policy-found.json"))  # foo-bar.io: unattributed
    ingest(tenant, b"this is not a report", "notes.txt")  # failed
    page = log_in(browser, live)

    shoot_everywhere(page, f"{live}/t/acme/inbound/", "ingest-log", screenshot)

    page.set_viewport_size({"width": 360, "height": 800})
    page.emulate_media(color_scheme="light")
    page.goto(f"{live}/t/acme/inbound/?status=unattributed")
    row = page.locator("tr[data-status=unattributed]")
    expect(row.get_by_role("link", name="Add this domain")).to_be_visible()
    row.get_by_role("button", name="Reprocess").click()
    expect(page).to_have_url(f"{live}/t/acme/inbound/?status=unattributed")
    expect(page.get_by_text("is queued again")).to_be_visible()
