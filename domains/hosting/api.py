"""REST API of hosted MTA-STS: read and replace a domain's policy, list its versions.

``readiness`` (whether the domain is ready to enforce, from its reports) is computed by
the reports app, which registers it in ``domains.hosting.readiness`` (apps import downward).
"""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.response import Response

from accounts.api_auth import TenantAPIRequest, TenantAPIView
from accounts.api_paging import ApiCursor
from accounts.api_schema import ErrorSerializer
from accounts.models import User
from domains.hosting.automatic import auto_state
from domains.hosting.models import (
    ChangeSource,
    HostedPolicy,
    HostedPolicyVersion,
    StsMode,
    TxtMode,
)
from domains.hosting.policy import PolicyError
from domains.hosting.readiness import readiness_for
from domains.hosting.selectors import HostingView, hosting_view
from domains.hosting.services import PolicySettings, hosted_policy_update
from domains.models import Domain
from domains.stspolicy import MAX_AGE_LIMIT


class AutoSerializer(serializers.Serializer):
    promote = serializers.BooleanField(
        default=False, help_text="Move to enforce once ready, then ramp max_age (the loop)."
    )
    rollback = serializers.BooleanField(
        default=False, help_text="Go back to testing on a failure spike, pausing promotion."
    )


class LoopSerializer(serializers.Serializer):
    paused = serializers.JSONField(
        allow_null=True,
        help_text="After a rollback, until a person turns promote on again: since, reason.",
    )
    last_action = serializers.JSONField(
        allow_null=True, help_text="The product's last change: changed_at, policy_id, summary."
    )


class PatternListField(serializers.ListField):
    """A list of strings whose errors are flat ("item 2: ..."), as the error shape says."""

    def to_internal_value(self, data: Any) -> list:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as e:
            if not isinstance(e.detail, dict):
                raise
            raise serializers.ValidationError(
                [f"item {i}: {' '.join(map(str, errors))}" for i, errors in e.detail.items()]
            ) from None


class MtaStsSettingsSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="Serve the policy at mta-sts.<domain>.")
    mode = serializers.ChoiceField(choices=StsMode.choices)
    mx = PatternListField(
        child=serializers.CharField(max_length=300), max_length=50,
        help_text="Host names or *.-prefixed host names; at least one unless mode is none.",
    )  # fmt: skip
    max_age = serializers.IntegerField(min_value=1, max_value=MAX_AGE_LIMIT)
    txt_mode = serializers.ChoiceField(
        choices=TxtMode.choices, default=TxtMode.CUSTOMER,
        help_text="Who publishes the _mta-sts TXT record; hosted (our DNS server answers it "
        "at a name txt_record's CNAME points to) only where the server has HOSTED_DNS_ZONE.",
    )  # fmt: skip
    auto = AutoSerializer(required=False, help_text="Missing: both off.")


class DnsRecordSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    value = serializers.CharField()


class MtaStsSerializer(MtaStsSettingsSerializer):
    policy_id = serializers.CharField(help_text="Empty until the policy is first saved.")
    policy_text = serializers.CharField(help_text="The policy file exactly as served.")
    policy_url = serializers.URLField()
    txt_record = DnsRecordSerializer(
        allow_null=True, help_text="The _mta-sts record to publish: TXT, or in txt_mode hosted "
        "a CNAME to our DNS zone (published once).",
    )  # fmt: skip
    cname_record = DnsRecordSerializer(help_text="Point mta-sts.<domain> at us.")
    readiness = serializers.JSONField(
        allow_null=True,
        help_text="Ready to enforce? verdict (ready, not_ready, not_enough_data, not_testing), "
        "summary, window, coverage, evidence: see the README's Hosted MTA-STS section.",
    )
    loop = LoopSerializer(help_text="The enforcement loop's state (read only).")


def _body(view: HostingView) -> dict[str, Any]:
    policy = view.policy
    return {
        "enabled": policy.enabled, "mode": policy.mode, "mx": list(policy.mx),
        "max_age": policy.max_age, "txt_mode": policy.txt_mode,
        "auto": {"promote": policy.auto_promote, "rollback": policy.auto_rollback},
        "policy_id": policy.policy_id, "policy_text": view.text, "policy_url": view.url,
        "txt_record": vars(view.txt) if policy.policy_id else None,
        "cname_record": vars(view.cname), "readiness": readiness_for(policy.domain),
        "loop": _loop(policy),
    }  # fmt: skip


def _loop(policy: HostedPolicy) -> dict[str, Any]:
    state = auto_state(policy)
    last = state.last_automatic
    return {
        "paused": {"since": state.paused_since, "reason": state.paused_reason}
        if state.paused else None,
        "last_action": {"changed_at": last.changed_at, "policy_id": last.policy_id,
                        "mode": last.mode, "max_age": last.max_age, "summary": last.summary}
        if last else None,
    }  # fmt: skip


# Which input field each of the service's refusals is about.
_FIELD_OF = {"mx_invalid": "mx", "mx_missing": "mx", "mode_invalid": "mode",
             "max_age_invalid": "max_age", "txt_mode_unavailable": "txt_mode"}  # fmt: skip


def _person(request: TenantAPIRequest) -> User | None:
    """The member using the API from the browser; None for an API key."""
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


class MtaStsView(TenantAPIView):
    def tenant_queryset(self) -> QuerySet[Domain]:
        return Domain.objects.select_related("tenant")

    @extend_schema(responses=MtaStsSerializer, summary="A domain's hosted MTA-STS policy")
    def get(self, request: TenantAPIRequest, pk: int) -> Response:
        domain = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(_body(hosting_view(domain)))

    @extend_schema(
        request=MtaStsSettingsSerializer,
        responses={200: MtaStsSerializer, 400: OpenApiResponse(
            ErrorSerializer, "A field is not valid, or the domain is not verified (`enabled`)."
        )},
        summary="Replace a domain's hosted MTA-STS policy (write key); a new version",
    )  # fmt: skip
    def put(self, request: TenantAPIRequest, pk: int) -> Response:
        domain = get_object_or_404(self.get_queryset(), pk=pk)
        data = MtaStsSettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        auto = values.pop("auto", {})
        wanted = PolicySettings(
            **values, auto_promote=auto.get("promote", False),
            auto_rollback=auto.get("rollback", False),
        )  # fmt: skip
        try:
            policy = hosted_policy_update(
                domain=domain, wanted=wanted, actor=_person(request), source=ChangeSource.API,
                request=request,
            )  # fmt: skip
        except PolicyError as e:
            raise serializers.ValidationError(
                {_FIELD_OF.get(e.code, "enabled"): [e.message]}
            ) from None
        return Response(_body(hosting_view(domain, policy)))


class VersionSerializer(serializers.ModelSerializer):
    auto = serializers.SerializerMethodField()
    changed_by = serializers.SerializerMethodField()

    class Meta:
        model = HostedPolicyVersion
        fields = ["policy_id", "enabled", "mode", "mx", "max_age", "txt_mode", "auto",
                  "changed_at", "changed_by", "source", "summary"]  # fmt: skip
        read_only_fields = fields

    def get_auto(self, version: HostedPolicyVersion) -> dict[str, bool]:
        return {"promote": version.auto_promote, "rollback": version.auto_rollback}

    def get_changed_by(self, version: HostedPolicyVersion) -> str | None:
        """The person's e-mail address; null for the API and the product's own changes."""
        return version.changed_by_email or None


class VersionCursor(ApiCursor):
    ordering = ("-changed_at", "-id")


@extend_schema_view(
    get=extend_schema(summary="A domain's hosted MTA-STS versions, newest first; cursor pagination")
)
class MtaStsVersionsView(TenantAPIView, generics.ListAPIView):
    serializer_class = VersionSerializer
    pagination_class = VersionCursor

    def tenant_queryset(self) -> QuerySet[HostedPolicyVersion]:
        return HostedPolicyVersion.objects.filter(hosted_policy__domain_id=self.kwargs.get("pk"))

    def list(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        # Another tenant's domain (or none) is 404, never an empty list.
        if not Domain.objects.filter(pk=kwargs["pk"]).exists():
            raise Http404("No such domain.")
        return super().list(request, *args, **kwargs)
