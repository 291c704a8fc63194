"""Pages of tenants and their members: home, members, invitations, settings, audit log."""

from collections.abc import Callable

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.forms import DeleteTenantForm, InviteForm, RoleForm, TenantCreateForm, TenantForm
from accounts.invitations import (
    SESSION_KEY,
    InvitationError,
    invitation_accept,
    invitation_create,
    invitation_from_token,
    invitation_revoke,
)
from accounts.members import (
    MemberError,
    membership_leave,
    membership_remove,
    membership_role_change,
    ownership_transfer,
)
from accounts.models import Invitation, Membership, Role, Tenant
from accounts.selectors import audit_events, first_tenant_of, invitations_open, members_of
from accounts.tenancy import AuthenticatedRequest, TenantRequest, tenant_view
from accounts.tenants import tenant_create_for, tenant_delete, tenant_update


def home(request: HttpRequest) -> HttpResponse:
    """The site's root: a person's first tenant, or the welcome page."""
    if not request.user.is_authenticated:
        return render(request, "home.html")
    token = request.session.get(SESSION_KEY)
    if token:  # followed an invitation link, then signed up or logged in
        return redirect("invitation_accept", token=token)
    tenant = first_tenant_of(request.user)
    if tenant is None:
        return redirect("tenant_new")
    return redirect("tenant_home", slug=tenant.slug)


@login_required
def tenant_new(request: AuthenticatedRequest) -> HttpResponse:
    form = TenantCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        tenant = tenant_create_for(
            owner=request.user, name=form.cleaned_data["name"], request=request
        )
        return redirect("tenant_home", slug=tenant.slug)
    return render(request, "accounts/tenant_new.html", {"form": form})


@tenant_view(Role.VIEWER)
def members(request: TenantRequest) -> HttpResponse:
    tenant, me = request.tenant, request.membership
    form = InviteForm(request.POST or None)
    if request.method == "POST":
        if not me.has_role(Role.ADMIN):
            return HttpResponse("Only admins can invite.", status=403)
        if form.is_valid():
            try:
                invitation_create(
                    tenant=tenant, email=form.cleaned_data["email"],
                    role=Role(form.cleaned_data["role"]), actor=me, request=request,
                )  # fmt: skip
            except InvitationError as e:
                form.add_error("email", str(e))
            else:
                messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
                return redirect("members", slug=tenant.slug)
    memberships = list(members_of(tenant))
    owners = sum(m.role == Role.OWNER for m in memberships)
    context = {
        "form": form,
        "memberships": memberships,
        "invitations": invitations_open(),
        # membership_leave refuses the last owner: the page says why instead of a button.
        "last_owner": me.role == Role.OWNER and owners == 1,
    }
    return render(request, "accounts/members.html", context)


def _member_action(
    request: TenantRequest, action: Callable[..., None], success: str, **kwargs: object
) -> HttpResponse:
    try:
        action(request=request, **kwargs)
    except MemberError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, success)
    return redirect("members", slug=request.tenant.slug)


@tenant_view(Role.ADMIN)
@require_POST
def member_role(request: TenantRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(Membership, pk=pk, tenant=request.tenant)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role.")
        return redirect("members", slug=request.tenant.slug)
    role = Role(form.cleaned_data["role"])
    return _member_action(
        request, membership_role_change, f"{target.user.email} is now {role.label}.",
        actor=request.membership, target=target, role=role,
    )  # fmt: skip


@tenant_view(Role.ADMIN)
@require_POST
def member_remove(request: TenantRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(Membership, pk=pk, tenant=request.tenant)
    if target.pk == request.membership.pk:
        messages.error(request, "To leave the tenant, use Leave.")
        return redirect("members", slug=request.tenant.slug)
    return _member_action(
        request, membership_remove, f"Removed {target.user.email}.",
        actor=request.membership, target=target,
    )  # fmt: skip


@tenant_view(Role.OWNER)
@require_POST
@reauthentication_required
def member_transfer(request: TenantRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(Membership, pk=pk, tenant=request.tenant)
    return _member_action(
        request, ownership_transfer, f"{target.user.email} now owns {request.tenant.name}.",
        actor=request.membership, target=target,
    )  # fmt: skip


@tenant_view(Role.VIEWER)
@require_POST
def tenant_leave(request: TenantRequest) -> HttpResponse:
    try:
        membership_leave(membership=request.membership, request=request)
    except MemberError as e:
        messages.error(request, str(e))
        return redirect("members", slug=request.tenant.slug)
    messages.success(request, f"You left {request.tenant.name}.")
    return redirect("home")


@tenant_view(Role.ADMIN)
@require_POST
def invitation_withdraw(request: TenantRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=pk, accepted_at__isnull=True)
    invitation_revoke(invitation=invitation, actor=request.membership, request=request)
    messages.success(request, f"Withdrew the invitation of {invitation.email}.")
    return redirect("members", slug=request.tenant.slug)


def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_from_token(token)
    except InvitationError as e:
        request.session.pop(SESSION_KEY, None)
        return render(request, "accounts/invitation.html", {"error": str(e)}, status=410)
    if not request.user.is_authenticated:
        request.session[SESSION_KEY] = token
        return render(request, "accounts/invitation.html", {"invitation": invitation})
    if request.method == "POST":
        try:
            invitation_accept(invitation=invitation, user=request.user, request=request)
        except InvitationError as e:
            return render(request, "accounts/invitation.html", {"error": str(e)}, status=403)
        request.session.pop(SESSION_KEY, None)
        messages.success(request, f"You joined {invitation.tenant.name}.")
        return redirect("tenant_home", slug=invitation.tenant.slug)
    return render(request, "accounts/invitation.html", {"invitation": invitation})


@tenant_view(Role.ADMIN)
def tenant_settings(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    # The form edits a copy, so that tenant_update sees what changed.
    form = TenantForm(request.POST or None, instance=Tenant.objects.get(pk=tenant.pk))
    if request.method == "POST" and form.is_valid():
        tenant_update(tenant=tenant, actor=request.user, changes=form.cleaned_data, request=request)
        messages.success(request, "Settings saved.")
        return redirect("tenant_settings", slug=tenant.slug)
    context = {"form": form, "delete_form": DeleteTenantForm(tenant=tenant)}
    return render(request, "accounts/tenant_settings.html", context)


@tenant_view(Role.OWNER)
@reauthentication_required(allow_get=True)
def tenant_delete_view(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    form = DeleteTenantForm(request.POST or None, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        name = tenant.name
        tenant_delete(tenant=tenant)
        messages.success(request, f"Deleted {name} and all of its data.")
        return redirect("home")
    return render(request, "accounts/tenant_delete.html", {"delete_form": form})


@tenant_view(Role.ADMIN)
def audit_log(request: TenantRequest) -> HttpResponse:
    page = Paginator(audit_events(), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/audit_log.html", {"page": page})
