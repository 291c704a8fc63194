"""The weekly digest's own switch: on the Members page, and the unsubscribe link.

The unsubscribe link needs no login and works in one click, per RFC 8058.

GET only shows a page with a button (link scanners and previews follow GETs); a POST
turns the digest off, or on again from that same page. Mail clients POST
``List-Unsubscribe=One-Click`` to the link without cookies or a CSRF token, so the view
is exempt from CSRF: the signed token is what authorises it.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_scopes import scope

from accounts.models import Role
from accounts.tenancy import TenantRequest, tenant_view
from reports.digests.weekly import membership_digest_set, unsubscribe_membership


@tenant_view(Role.VIEWER)
@require_http_methods(["POST"])
def digest_preference(request: TenantRequest) -> HttpResponse:
    """Turn the signed-in person's own weekly digest of this tenant on or off."""
    on = request.POST.get("weekly_digest") == "on"
    if on != request.membership.weekly_digest:
        membership_digest_set(membership=request.membership, on=on)
    state = "on" if on else "off"
    messages.success(request, f"Your weekly digest of {request.tenant.name} is {state}.")
    return redirect("members", slug=request.tenant.slug)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def digest_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    membership = unsubscribe_membership(token)
    if membership is None:
        raise Http404("This link is not valid (any more).")
    changed = False
    if request.method == "POST":
        on = request.POST.get("action") == "subscribe"
        with scope(tenant=membership.tenant_id):
            membership_digest_set(membership=membership, on=on)
        changed = True
    context = {"membership": membership, "changed": changed, "digest_tenant": membership.tenant}
    return render(request, "reports/digest_unsubscribe.html", context)
