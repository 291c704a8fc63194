"""The HTTPS door of RFC 8460 section 5.4: ``POST /tlsrpt/<token>``.

No session, no CSRF token: a sender's MTA posts the report as
``application/tlsrpt+gzip`` or ``application/tlsrpt+json`` (plain ``application/json``
and ``application/gzip`` are taken too; what the body really is, the parser sniffs).
The body is read in bounded chunks, so an oversized one is refused with 413 without
being held in memory. A chunked body (``Transfer-Encoding: chunked``, no Content-Length;
senders' HTTP clients may stream) is read from the server's own input when the server
de-chunks it and ends the stream at the body's end (``wsgi.input_terminated``, as
gunicorn does): Django alone reads a body without Content-Length as empty. 201 once
stored and committed; 503 with Retry-After when the database cannot be reached, so the
sender tries again.

429 with Retry-After past a limit: the URL's reports a minute, or the tenant's messages
or bytes of the UTC day (``reports.inbound.quotas``, shared with the SMTP door; then
Retry-After is the time to midnight UTC). Each such refusal is recorded for the tenant
to see (``reports.inbound.refusals``).
"""

import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.models import Tenant
from reports.inbound.addresses import forget_token, tenant_id_for_token
from reports.inbound.models import Limit
from reports.inbound.quotas import (
    Reservation,
    quota_full,
    quota_release,
    quota_reserve,
    seconds_to_midnight,
)
from reports.inbound.refusals import refusal_record
from reports.inbound.store import inbound_store
from reports.models import Channel
from tlsrpt_saas.ratelimit import window_hit

logger = logging.getLogger(__name__)

ACCEPTED_TYPES = {
    "application/tlsrpt+gzip",
    "application/tlsrpt+json",
    "application/gzip",
    "application/json",
}
_CHUNK = 64 * 1024


def _error(status: int, code: str, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _over_rate(tenant_id: int) -> int | None:
    """Seconds to wait when this tenant's URL took its share of posts this minute."""
    count, retry_after = window_hit("tlsrpt-post", tenant_id, 60)
    return retry_after if count > settings.TLSRPT_HTTPS_RATE_PER_MINUTE else None


def _read_limited(request: HttpRequest, limit: int) -> bytes | None:
    """The body, or None as soon as it passes ``limit`` bytes."""
    length = request.META.get("CONTENT_LENGTH")
    if length and length.isdigit() and int(length) > limit:
        return None
    stream = _body_stream(request)
    chunks, total = [], 0
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _body_stream(request: HttpRequest) -> Any:
    """Django's stream (bounded by Content-Length), or for a chunked request the
    server's terminated input."""
    if not request.META.get("CONTENT_LENGTH") and request.META.get("wsgi.input_terminated"):
        return request.META["wsgi.input"]
    return request


@csrf_exempt
def tlsrpt_post(request: HttpRequest, token: str) -> JsonResponse:
    if request.method != "POST":
        return _error(405, "method_not_allowed", "POST the report here.", Allow="POST")
    tenant_id = tenant_id_for_token(token)
    if tenant_id is None:
        return _error(404, "unknown_token", "No tenant has this report URL.")
    content_type = (request.content_type or "").lower()  # WSGI requests always have one
    if content_type not in ACCEPTED_TYPES:
        return _error(
            415, "unsupported_media_type",
            "Send application/tlsrpt+gzip or application/tlsrpt+json (RFC 8460 5.4).",
        )  # fmt: skip
    wait = _over_rate(tenant_id)
    if wait is not None:
        _record(request, tenant_id, Limit.HTTPS_RATE)
        return _error(429, "rate_limited", "Too many reports this minute.", Retry_After=str(wait))
    if quota_full(tenant_id=tenant_id):
        return _over_quota(request, tenant_id, Limit.DAILY_MESSAGES)
    body = _read_limited(request, settings.TLSRPT_MAX_MESSAGE_BYTES)
    if body is None:
        return _error(413, "too_large", f"Reports up to {settings.TLSRPT_MAX_MESSAGE_BYTES} bytes.")
    if not body:
        return _error(400, "empty", "The request has no body.")
    reservation = quota_reserve(tenant_id=tenant_id, size=len(body))
    if not isinstance(reservation, Reservation):
        return _over_quota(request, tenant_id, reservation, size=len(body))
    try:
        message = inbound_store(tenant=Tenant(pk=tenant_id), channel=Channel.HTTPS, raw=body)
    except IntegrityError:  # the tenant was deleted a moment ago
        quota_release(reservation)
        forget_token(token)
        return _error(404, "unknown_token", "No tenant has this report URL.")
    except DatabaseError:
        quota_release(reservation)
        logger.exception("Database unavailable for an HTTPS report")
        return _error(503, "unavailable", "Try again later.", Retry_After="60")
    return JsonResponse({"id": message.pk, "status": message.status}, status=201)


def _over_quota(request: HttpRequest, tenant_id: int, limit: Limit, size: int = 0) -> JsonResponse:
    _record(request, tenant_id, limit, size)
    what = "reports" if limit == Limit.DAILY_MESSAGES else "bytes of reports"
    return _error(
        429, "quota_exceeded", f"This URL took its {what} for today (UTC); try again tomorrow.",
        Retry_After=str(seconds_to_midnight()),
    )  # fmt: skip


def _record(request: HttpRequest, tenant_id: int, limit: Limit, size: int = 0) -> None:
    """Record the refusal for the tenant; it must not turn a 429 into an error."""
    sender = request.META.get("REMOTE_ADDR") or ""
    try:
        refusal_record(
            tenant_id=tenant_id, channel=Channel.HTTPS, limit=limit, size=size, sender=sender
        )
    except DatabaseError:
        logger.exception("Could not record a refusal for tenant %s", tenant_id)
