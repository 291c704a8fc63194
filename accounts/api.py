"""REST API of the accounts app: the tenant itself."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_auth import TenantAPIView
from accounts.models import Tenant


class TenantSerializer(serializers.ModelSerializer):
    inbound_address = serializers.CharField(read_only=True)
    https_rua_url = serializers.CharField(read_only=True)

    class Meta:
        model = Tenant
        fields = ["name", "slug", "time_zone", "inbound_address", "https_rua_url"]


class TenantView(TenantAPIView):
    @extend_schema(responses=TenantSerializer, summary="The tenant this key acts for")
    def get(self, request: Request) -> Response:
        return Response(TenantSerializer(request.tenant).data)
