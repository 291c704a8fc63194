"""Forms of the accounts app: sign-up's extra field, tenant settings, members."""

import zoneinfo
from typing import Any

from django import forms
from django.http import HttpRequest

from accounts.invitations import SESSION_KEY
from accounts.models import Role, Tenant, User
from accounts.tenants import tenant_create_for

_ZONES = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


class SignupForm(forms.Form):
    """allauth's ``ACCOUNT_SIGNUP_FORM_CLASS``: the sign-up form's extra field."""

    team = forms.CharField(
        label="Team or company name",
        max_length=100,
        required=False,
        help_text="Names your first tenant; you can rename it later. "
        "Leave it empty if you are joining a team you were invited to.",
    )

    def signup(self, request: HttpRequest, user: User) -> None:
        team = self.cleaned_data.get("team", "").strip()
        if request.session.get(SESSION_KEY) and not team:
            return  # joining through an invitation: no tenant of their own yet
        tenant_create_for(owner=user, name=team or user.email.split("@")[-1], request=request)


class TenantForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=[(z, z) for z in _ZONES],
        help_text="Dashboards and digests show days in this time zone.",
    )

    class Meta:
        model = Tenant
        fields = ["name", "time_zone", "weekly_digest", "digest_weekday"]
        labels = {"digest_weekday": "Digest day"}


class TenantCreateForm(forms.Form):
    name = forms.CharField(label="Team or company name", max_length=100)


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(
        choices=[(r.value, r.label) for r in (Role.VIEWER, Role.MEMBER, Role.ADMIN)],
        initial=Role.MEMBER,
        help_text="Viewers read; members also upload and reprocess; admins also manage "
        "domains, members and keys.",
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class DeleteTenantForm(forms.Form):
    confirm = forms.CharField(label="Type the tenant's slug to confirm")

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != self.tenant.slug:
            raise forms.ValidationError(f"Type {self.tenant.slug} to confirm.")
        return value
