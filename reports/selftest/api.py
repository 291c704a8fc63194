"""REST API of the self-test: start one for a domain (202, then poll), read its steps."""

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from accounts.api_auth import TenantAPIRequest, TenantAPIView
from accounts.models import Role, User
from domains.models import Domain
from reports.selftest.models import SelfTest
from reports.selftest.selectors import DONE, FAILED, WAITING, Progress, self_test_progress
from reports.selftest.services import TooManySelfTests, self_test_create


class SelfTestRequestSerializer(serializers.Serializer):
    https = serializers.BooleanField(
        default=False, help_text="Also post the report to the HTTPS door."
    )


class StepSerializer(serializers.Serializer):
    key = serializers.ChoiceField(["smtp", "https", "stored", "processed", "shown"])
    title = serializers.CharField()
    state = serializers.ChoiceField([DONE, WAITING, FAILED])
    detail = serializers.CharField(allow_blank=True, help_text="A failing door is named here.")
    message_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="The ingest log's messages (inbound/{id})."
    )
    report_id = serializers.IntegerField(
        allow_null=True, help_text="The stored test report (reports/{id})."
    )


class SelfTestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    domain = serializers.IntegerField()
    report_id = serializers.CharField(help_text="The test report's report-id.")
    started_at = serializers.DateTimeField()
    https = serializers.BooleanField()
    outcome = serializers.ChoiceField(["running", "passed", "failed"])
    steps = StepSerializer(many=True)
    status_url = serializers.URLField()


def serialize(request: TenantAPIRequest, progress: Progress) -> dict:
    test = progress.test
    path = reverse("api_self_test", kwargs={"pk": test.domain_id, "test_id": test.pk})
    return {
        "id": test.pk,
        "domain": test.domain_id,
        "report_id": test.report_id,
        "started_at": test.started_at,
        "https": bool(test.https_status),
        "outcome": progress.outcome,
        "steps": [
            {
                "key": s.key,
                "title": s.label,
                "state": s.state,
                "detail": s.detail,
                "message_ids": s.message_ids,
                "report_id": s.report_pk,
            }
            for s in progress.steps
        ],
        "status_url": request.build_absolute_uri(path),
    }


class SelfTestStartView(TenantAPIView):
    write_role = Role.MEMBER

    def tenant_queryset(self) -> QuerySet[Domain]:
        return Domain.objects.all()

    @extend_schema(
        request=SelfTestRequestSerializer,
        responses={202: SelfTestSerializer},
        summary="Send a test report for the domain through the doors (write key); poll status_url",
    )  # fmt: skip
    def post(self, request: TenantAPIRequest, pk: int) -> Response:
        domain: Domain = get_object_or_404(self.get_queryset(), pk=pk)
        body = SelfTestRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        actor = request.user if isinstance(request.user, User) else None
        try:
            test = self_test_create(domain=domain, actor=actor, https=body.validated_data["https"])
        except TooManySelfTests as e:
            raise exceptions.Throttled(wait=e.retry_after, detail=str(e)) from None
        test.domain = domain
        data = serialize(request, self_test_progress(test))
        return Response(data, status=status.HTTP_202_ACCEPTED)


class SelfTestDetailView(TenantAPIView):
    def tenant_queryset(self) -> QuerySet[SelfTest]:
        return SelfTest.objects.select_related("domain")

    @extend_schema(responses=SelfTestSerializer, summary="A self-test's steps and outcome")
    def get(self, request: TenantAPIRequest, pk: int, test_id: int) -> Response:
        # The domain is compared here: a foreign key lookup on SQLite raises on an id past
        # 64 bits (a pk lookup answers nothing), and schemathesis sends such ids.
        test: SelfTest = get_object_or_404(self.get_queryset(), pk=test_id)
        if test.domain_id != pk:
            raise Http404("No such self-test of this domain.")
        return Response(serialize(request, self_test_progress(test)))
