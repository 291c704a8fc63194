"""REST API of the domains app: list, add, read, remove and verify domains."""

from typing import cast

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from accounts.api_auth import TenantAPIRequest, TenantAPIView
from domains.lifecycle import domain_add, domain_remove
from domains.models import Domain, VerifiedBy
from domains.names import DomainNameError
from domains.selectors import latest_checks
from domains.verification import domain_check


class FindingSerializer(serializers.Serializer):
    level = serializers.ChoiceField(["ok", "warning", "error", "unknown"])
    code = serializers.CharField()
    message = serializers.CharField()
    fix = serializers.CharField(allow_blank=True)


class CheckSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(["tlsrpt", "mta_sts", "mx", "dane", "mx_tls"])
    status = serializers.ChoiceField(["ok", "warning", "error"])
    checked_at = serializers.DateTimeField()
    findings = FindingSerializer(many=True)


class DomainSerializer(serializers.ModelSerializer):
    """A domain; ``health`` is the latest definitive DNS check of each kind (from context)."""

    state = serializers.CharField(read_only=True)
    verified_by = serializers.SerializerMethodField()
    records = serializers.SerializerMethodField()
    health = serializers.SerializerMethodField()

    class Meta:
        model = Domain
        fields = ["id", "name", "state", "verified_at", "verified_by", "checked_at",
                  "check_message", "tlsrpt_ok", "tlsrpt_message", "records", "health"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(
        serializers.ChoiceField(choices=VerifiedBy.choices, allow_null=True),
    )
    def get_verified_by(self, domain: Domain) -> str | None:
        """How a verified domain was verified; null while it is not."""
        return domain.verified_by or None

    def get_records(self, domain: Domain) -> dict[str, dict[str, str]]:
        tenant = domain.tenant
        return {
            "ownership": {"name": domain.verification_name, "type": "TXT",
                          "value": domain.verification_token},
            "tlsrpt": {"name": domain.tlsrpt_name, "type": "TXT",
                       "value": f"v=TLSRPTv1; rua=mailto:{tenant.inbound_address}"},
        }  # fmt: skip

    @extend_schema_field(CheckSerializer(many=True))
    def get_health(self, domain: Domain) -> list:
        checks = self.context["health"].get(domain.pk, {})
        # many=True: DRF's list serializer answers a list; the stubs type ``data`` as a dict.
        return cast(list, CheckSerializer(list(checks.values()), many=True).data)


def serialize(domains: list[Domain]) -> list:
    """Domains with their DNS health, read in one query for all of them."""
    context = {"health": latest_checks(domains)}
    return cast(list, DomainSerializer(domains, many=True, context=context).data)  # a list


class DomainCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=300)


class DomainListView(TenantAPIView):
    def tenant_queryset(self) -> QuerySet[Domain]:
        return Domain.objects.select_related("tenant")

    @extend_schema(responses=DomainSerializer(many=True), summary="The tenant's domains")
    def get(self, request: TenantAPIRequest) -> Response:
        return Response(serialize(list(self.get_queryset().order_by("name"))))

    @extend_schema(request=DomainCreateSerializer, responses={201: DomainSerializer},
                   summary="Add a domain (write key)")  # fmt: skip
    def post(self, request: TenantAPIRequest) -> Response:
        data = DomainCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # One transaction with the answer: a client told of an error finds nothing added.
        with transaction.atomic():
            try:
                domain = domain_add(
                    tenant=request.tenant, name=data.validated_data["name"], actor=None
                )
            except DomainNameError as e:
                raise serializers.ValidationError({"name": [str(e)]}) from None
            body = serialize([domain])[0]
        return Response(body, status=status.HTTP_201_CREATED)


class DomainDetailView(TenantAPIView):
    def tenant_queryset(self) -> QuerySet[Domain]:
        return Domain.objects.all()

    @extend_schema(responses=DomainSerializer, summary="One domain")
    def get(self, request: TenantAPIRequest, pk: int) -> Response:
        domain = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(serialize([domain])[0])

    @extend_schema(responses={204: None}, summary="Remove a domain and its reports (write key)")
    def delete(self, request: TenantAPIRequest, pk: int) -> Response:
        domain: Domain = get_object_or_404(self.get_queryset(), pk=pk)
        domain_remove(domain=domain, actor=None)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DomainVerifyView(TenantAPIView):
    def tenant_queryset(self) -> QuerySet[Domain]:
        return Domain.objects.all()

    @extend_schema(request=None, responses=DomainSerializer,
                   summary="Check the ownership record now (write key)")  # fmt: skip
    def post(self, request: TenantAPIRequest, pk: int) -> Response:
        domain: Domain = get_object_or_404(self.get_queryset(), pk=pk)
        domain_check(domain=domain)
        domain.refresh_from_db()
        return Response(serialize([domain])[0])
