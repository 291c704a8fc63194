"""Serving hosted policies at ``https://mta-sts.<domain>/.well-known/mta-sts.txt``.

Caddy terminates TLS and passes every request on; this middleware, first in the list,
answers all requests whose Host starts with ``mta-sts.`` before Django looks at the Host
(ALLOWED_HOSTS would refuse customers' names) or sets cookies: the policy of a verified
domain with hosting on, exactly, as ``text/plain``; 404 for anything else under such a
name. It also answers Caddy's on-demand TLS question, ``/internal/tls-ask?domain=``, on
any Host (Caddy asks with the upstream's): 200 only for a name we serve.

Answers come from the cache (Redis in production), so a slow database does not slow
senders: the policy text per name, or "" for a name we do not serve (kept a short time,
since a domain may be verified meanwhile). ``served_refresh`` rewrites a name's entry
when its policy changes, once the change is committed.
"""

import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from accounts.tenancy import across_tenants
from domains.hosting.models import HostedPolicy
from domains.hosting.policy import PolicyContent, policy_text

logger = logging.getLogger(__name__)

POLICY_PATH = "/.well-known/mta-sts.txt"
ASK_PATH = "/internal/tls-ask"
PREFIX = "mta-sts."
_KEY = "hosted-mta-sts:v1:"
SERVED_TTL = 300  # rewritten on change; bounds the rest (a domain unverified, removed)
UNKNOWN_TTL = 60  # a name we do not serve, which may become one
_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)+")


def host_of(request: HttpRequest) -> str:
    """The Host header's name: port and trailing dot removed, lower-case."""
    host = request.META.get("HTTP_HOST", "").strip().lower()
    if host.startswith("["):
        return host  # an IPv6 literal is never an mta-sts. name
    return host.rsplit(":", 1)[0].rstrip(".")


def _lookup(domain_name: str) -> str:
    """The served policy text of ``domain_name``, or "" when we serve none."""
    if not settings.HOSTED_MTA_STS:
        return ""
    # A name is hosted for whichever tenant has it verified with hosting on; two tenants
    # may both have proven it, and then the most recent proof wins.
    with across_tenants("serving: a sender asks for a domain's hosted policy by its name"):
        policy = (
            HostedPolicy.objects.filter(
                domain__name=domain_name, enabled=True, domain__verified_at__isnull=False
            )
            .order_by("-domain__verified_at")
            .values("mode", "mx", "max_age")
            .first()
        )
    if policy is None:
        return ""
    return policy_text(PolicyContent(policy["mode"], tuple(policy["mx"]), policy["max_age"]))


def served_policy(domain_name: str) -> str:
    """The cached answer for ``domain_name`` ("" when not served), read through on a miss."""
    if len(domain_name) > 253 or not _NAME.fullmatch(domain_name):
        return ""  # not a name a domain can have: neither looked up nor cached
    key = _KEY + domain_name
    try:
        text = cache.get(key)
    except Exception:  # the cache is down: answer from the database
        logger.warning("hosted MTA-STS: cache unavailable", exc_info=True)
        return _lookup(domain_name)
    if text is None:
        text = _lookup(domain_name)
        _store(key, text)
    return str(text)


def served_refresh(domain_name: str) -> None:
    """Rewrite the cached answer of ``domain_name`` from the database (after a change)."""
    _store(_KEY + domain_name, _lookup(domain_name))


def served_refresh_on_commit(domain_name: str) -> None:
    """``served_refresh`` once the transaction commits: a domain was verified, unverified or
    removed, which decides whether its policy is served, so no sender waits out the cache."""
    transaction.on_commit(lambda: served_refresh(domain_name))


def _store(key: str, text: str) -> None:
    try:
        cache.set(key, text, SERVED_TTL if text else UNKNOWN_TTL)
    except Exception:
        logger.warning("hosted MTA-STS: cache unavailable", exc_info=True)


def policy_response(request: HttpRequest, host: str) -> HttpResponse:
    if request.path_info != POLICY_PATH:
        return _not_found()
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405, content_type="text/plain")
        response["Allow"] = "GET, HEAD"
        return response
    text = served_policy(host.removeprefix(PREFIX))
    if not text:
        return _not_found()
    body = text.encode("ascii")
    response = HttpResponse(b"" if request.method == "HEAD" else body, content_type="text/plain")
    response["Content-Length"] = str(len(body))
    response["X-Content-Type-Options"] = "nosniff"
    return response


def tls_ask(request: HttpRequest) -> HttpResponse:
    """200 when ``?domain=`` is ``mta-sts.`` and a name we serve; 404 otherwise."""
    name = request.GET.get("domain", "").strip().lower().rstrip(".")
    if not name.startswith(PREFIX) or not served_policy(name.removeprefix(PREFIX)):
        return _not_found()
    return HttpResponse(b"ok", content_type="text/plain")


def _not_found() -> HttpResponse:
    return HttpResponse(b"Not found\n", status=404, content_type="text/plain")


class HostedPolicyMiddleware:
    """First in MIDDLEWARE: answers ``mta-sts.*`` hosts and the TLS ask; passes the rest."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == ASK_PATH:
            return tls_ask(request)
        host = host_of(request)
        if host.startswith(PREFIX):
            return policy_response(request, host)
        return self.get_response(request)
