"""Starting a self-test and sending its report through the product's own doors.

``self_test_create`` (a member's button, or the API) writes the row and queues the
sending on commit; ``self_test_run`` (the task) builds the report and gives it to the
SMTP door, as any sender would, and when asked posts it to the HTTPS door too. A door
that does not take it is named in the row, with what it answered, so an operator knows
which part of the pipeline is broken. What happens next (stored, processed, shown as a
test) is read from the ingest's own rows (``reports.selftest.selectors``).

The doors apply their usual limits: a self-test is one small message and counts
against the tenant's daily quota like any other; the button itself is limited to
``SELF_TEST_PER_HOUR`` a domain.
"""

import hashlib
import http.client
import smtplib
import socket
import ssl
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import User
from domains.models import Domain
from reports.selftest.build import (
    REPORT_ID_PREFIX,
    self_test_email,
    self_test_gzip,
    self_test_report,
)
from reports.selftest.models import DoorStatus, SelfTest
from tlsrpt_saas.queueing import task_queue_on_commit
from tlsrpt_saas.ratelimit import window_hit

RUN_SELF_TEST = "reports.selftest.run_self_test"


class TooManySelfTests(Exception):
    """The domain's self-tests of this hour are used up."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many self-tests for this domain; try again in {retry_after} s.")
        self.retry_after = retry_after


def self_test_create(*, domain: Domain, actor: User | None, https: bool = False) -> SelfTest:
    """Record a self-test of ``domain`` and queue its sending once committed."""
    count, retry_after = window_hit("self-test", domain.pk, 3600)
    if count > settings.SELF_TEST_PER_HOUR:
        raise TooManySelfTests(retry_after)
    with transaction.atomic():
        test = SelfTest.objects.create(
            tenant_id=domain.tenant_id,
            domain=domain,
            created_by=actor if actor and actor.pk else None,
            report_id=f"{REPORT_ID_PREFIX}{uuid.uuid4().hex}",
            https_status=DoorStatus.PENDING if https else DoorStatus.NOT_ASKED,
        )
        audit_record(
            tenant=domain.tenant, actor=actor, action="self_test.started",
            summary=f"Sent a test report for {domain.name}",
        )  # fmt: skip
        task_queue_on_commit(RUN_SELF_TEST, test.pk)
    return test


def self_test_run(*, test: SelfTest) -> None:
    """Send the test's report through the SMTP door (and the HTTPS door when asked);
    record what each door did. Runs once: a test already sent is left alone."""
    if test.smtp_status != DoorStatus.PENDING:
        return
    now = timezone.now()
    tenant = test.domain.tenant
    document = self_test_report(domain=test.domain.name, report_id=test.report_id, now=now)
    submitter = settings.INBOUND_DOMAIN
    raw = self_test_email(
        document, sender=f"self-test@{submitter}", to=tenant.inbound_address,
        submitter=submitter, now=now,
    )  # fmt: skip
    test.smtp_sha256 = hashlib.sha256(raw).hexdigest()
    error = _smtp_send(raw, sender=f"self-test@{submitter}", to=tenant.inbound_address)
    test.smtp_status = DoorStatus.FAILED if error else DoorStatus.SENT
    test.smtp_error = error or ""
    if test.https_status == DoorStatus.PENDING:
        body = self_test_gzip(document)
        test.https_sha256 = hashlib.sha256(body).hexdigest()
        error = _https_post(body, url=_https_url(tenant.inbound_token))
        test.https_status = DoorStatus.FAILED if error else DoorStatus.SENT
        test.https_error = error or ""
    test.sent_at = timezone.now()
    test.save()


def smtp_door() -> tuple[str, int]:
    return settings.SELF_TEST_SMTP_HOST, settings.SELF_TEST_SMTP_PORT


def _smtp_send(raw: bytes, *, sender: str, to: str) -> str | None:
    """None once the door said 250; else what went wrong, naming the door."""
    host, port = smtp_door()
    # An LMTP door speaks LMTP to the self-test too, when it is aimed at the door's own
    # port; aimed elsewhere (the mail server in front of it), it speaks SMTP.
    lmtp = settings.INBOUND_SMTP_LMTP and port == settings.INBOUND_SMTP_PORT
    door = f"the {'LMTP' if lmtp else 'SMTP'} door at {host}:{port}"
    kind = smtplib.LMTP if lmtp else smtplib.SMTP
    try:
        with kind(host, port, timeout=settings.SELF_TEST_TIMEOUT) as client:
            client.sendmail(sender, [to], raw)
    except smtplib.SMTPRecipientsRefused as e:
        code, answer = next(iter(e.recipients.values()))
        return f"{door} refused the recipient {to}: {code} {_text(answer)}"
    except smtplib.SMTPResponseException as e:
        return f"{door} refused the report: {e.smtp_code} {_text(e.smtp_error)}"
    except (smtplib.SMTPException, OSError) as e:
        return f"{door} did not answer ({_reason(e)})"
    return None


def _https_url(token: str) -> str:
    return f"{settings.SELF_TEST_HTTPS_URL}/tlsrpt/{token}"


def _https_post(body: bytes, *, url: str) -> str | None:
    """None once the door said 201; else what went wrong, naming the door."""
    parts = urlsplit(url)
    door = f"the HTTPS door at {parts.scheme}://{parts.netloc}"
    timeout = settings.SELF_TEST_TIMEOUT
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=settings.SELF_TEST_HTTPS_CA_FILE or None)
        connection = http.client.HTTPSConnection(parts.netloc, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(parts.netloc, timeout=timeout)
    try:
        connection.request(
            "POST", parts.path, body=body, headers={"Content-Type": "application/tlsrpt+gzip"}
        )
        response = connection.getresponse()
        answer = response.read(500)
    except (OSError, http.client.HTTPException) as e:
        return f"{door} did not answer ({_reason(e)})"
    finally:
        connection.close()
    if response.status != 201:
        return f"{door} refused the report: {response.status} {_text(answer)[:200]}"
    return None


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else answer


def _reason(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(error, ssl.SSLError):
        return f"TLS failed: {error.reason or error}"
    return str(error) or type(error).__name__
