"""REST API of the accounts app: the tenant itself."""

from typing import cast

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api_auth import TenantAPIRequest, TenantAPIView
from accounts.models import Membership, Tenant


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")

    class Meta:
        model = Membership
        fields = ["email", "role"]


class TenantSerializer(serializers.ModelSerializer):
    inbound_address = serializers.CharField(read_only=True)
    https_rua_url = serializers.CharField(read_only=True)
    members = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = ["name", "slug", "time_zone", "inbound_address", "https_rua_url", "members"]

    @extend_schema_field(MemberSerializer(many=True))
    def get_members(self, tenant: Tenant) -> list[dict]:
        members = Membership.objects.filter(tenant=tenant).select_related("user")
        # many=True: DRF's list serializer answers a list; the stubs type ``data`` as a dict.
        return cast(list[dict], MemberSerializer(members.order_by("user__email"), many=True).data)


class TenantView(TenantAPIView):
    @extend_schema(responses=TenantSerializer, summary="The tenant this key acts for")
    def get(self, request: TenantAPIRequest) -> Response:
        return Response(TenantSerializer(request.tenant).data)
