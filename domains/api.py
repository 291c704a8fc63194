"""REST API of the domains app: list, add, read, remove and verify domains."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_auth import TenantAPIView
from domains.lifecycle import domain_add, domain_remove
from domains.models import Domain
from domains.names import DomainNameError
from domains.verification import domain_check


class DomainSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)
    records = serializers.SerializerMethodField()

    class Meta:
        model = Domain
        fields = ["id", "name", "state", "verified_at", "checked_at", "check_message",
                  "tlsrpt_ok", "tlsrpt_message", "records"]  # fmt: skip
        read_only_fields = fields

    def get_records(self, domain: Domain) -> dict[str, dict[str, str]]:
        tenant = domain.tenant
        return {
            "ownership": {"name": domain.verification_name, "type": "TXT",
                          "value": domain.verification_token},
            "tlsrpt": {"name": domain.tlsrpt_name, "type": "TXT",
                       "value": f"v=TLSRPTv1; rua=mailto:{tenant.inbound_address}"},
        }  # fmt: skip


class DomainCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=300)


class DomainListView(TenantAPIView):
    @extend_schema(responses=DomainSerializer(many=True), summary="The tenant's domains")
    def get(self, request: Request) -> Response:
        domains = Domain.objects.filter(tenant=request.tenant).select_related("tenant")
        return Response(DomainSerializer(domains.order_by("name"), many=True).data)

    @extend_schema(request=DomainCreateSerializer, responses={201: DomainSerializer},
                   summary="Add a domain (write key)")  # fmt: skip
    def post(self, request: Request) -> Response:
        data = DomainCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            domain = domain_add(tenant=request.tenant, name=data.validated_data["name"], actor=None)
        except DomainNameError as e:
            raise serializers.ValidationError({"name": [str(e)]}) from None
        return Response(DomainSerializer(domain).data, status=status.HTTP_201_CREATED)


class DomainDetailView(TenantAPIView):
    @extend_schema(responses=DomainSerializer, summary="One domain")
    def get(self, request: Request, pk: int) -> Response:
        domain = get_object_or_404(Domain, pk=pk, tenant=request.tenant)
        return Response(DomainSerializer(domain).data)

    @extend_schema(responses={204: None}, summary="Remove a domain and its reports (write key)")
    def delete(self, request: Request, pk: int) -> Response:
        domain = get_object_or_404(Domain, pk=pk, tenant=request.tenant)
        domain_remove(domain=domain, actor=None)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DomainVerifyView(TenantAPIView):
    @extend_schema(request=None, responses=DomainSerializer,
                   summary="Check the ownership record now (write key)")  # fmt: skip
    def post(self, request: Request, pk: int) -> Response:
        domain = get_object_or_404(Domain, pk=pk, tenant=request.tenant)
        domain_check(domain=domain)
        domain.refresh_from_db()
        return Response(DomainSerializer(domain).data)
