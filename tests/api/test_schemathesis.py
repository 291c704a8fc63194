"""Schemathesis over the whole API schema: no 5xx, every response as documented, seeded.

Each operation is fuzzed on its own (examples, coverage and fuzzing phases), then the
operations schemathesis links (a created domain, a listed report, an uploaded message
used by the next call) run as a stateful workflow. The schema is the one the app serves;
requests go through the WSGI app in this process, inside the test's transaction.
"""

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django_scopes import scope
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import ApiKey, KeyScope
from reports.models import Report, Status
from tests.factories import make_domain, make_tenant
from tests.reports.helpers import corpus, ingest
from tlsrpt_saas.wsgi import application

SEED = 8460
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": 40, "deterministic": True, "database": "none"},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
        },
    }
)
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application, config=CONFIG)

# Not positive_data_acceptance or negative_data_rejection: the API rightly refuses some
# schema-valid input (a date range over 731 days, a name that cannot receive mail) and
# leniently ignores some invalid input (an empty filter, a page_size that is not a number).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The fixture shares its data with every generated example of a test, on purpose.
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

CORPUS_REPORTS = [
    "google-2020-02-three-policies-validation-failures-mailflow.json",
    "socketlabs-2020-02-certificate-host-mismatch-nonstandard-key.json",
    "google-2024-01-sts-validation-failure-anonymised.json",
    "mailru-2024-02-sts-fetch-error.json",
    "microsoft-2026-08-tlsa-and-sts-testing-karlsen.json",
    "stalwart-refluxstop-2026-01-sts-contact-null.json",
    "microsoft-2025-06-sts-fetch-error-no-ip-no-mx.json",
    "google-2020-03-no-policy-found-fastmail.json.gz",
    "google-2025-03-no-policy-found.json",  # for none of the tenant's domains: unattributed
]
DOMAINS = ["test.mailflow.ovh", "example.com", "karlsen.fr", "hin.ch", "xxxxxxxx.xx"]

# The tenant's real ids by kind. A generated id almost never exists, so the hooks below
# name a real one about half the time; reprocessable messages come first.
IDS: dict[str, list[int]] = {}


@pytest.fixture
def _connection_kept() -> Iterator[None]:
    """Requests reuse the test's open transaction, as Django's test client arranges."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def secret(db: None, _connection_kept: None, settings) -> str:
    """A write key of a tenant with verified domains, corpus reports and a failed message."""
    settings.API_RATE_LIMIT = "100000/min"
    acme = make_tenant("acme")
    domains = [make_domain(acme, name) for name in DOMAINS]
    domains.append(make_domain(acme, "pending.example", verified=False))
    messages = [ingest(acme, corpus(name), name)[0] for name in CORPUS_REPORTS]
    messages.append(ingest(acme, b"not a report", "junk.txt")[0])
    messages.sort(key=lambda message: message.status == Status.PROCESSED)
    with scope(tenant=acme):
        reports = list(Report.objects.values_list("pk", flat=True))
    IDS.update(domains=[d.pk for d in domains], reports=reports, inbound=[m.pk for m in messages])
    return ApiKey.objects.create_key(tenant=acme, name="fuzz", scope=KeyScope.WRITE)[1]


def _real(kind: str) -> st.SearchStrategy[int]:
    return st.integers(0, 99).map(lambda i: IDS[kind][i % len(IDS[kind])])


@schema.hook
def flatmap_path_parameters(context, path_parameters: dict | None) -> st.SearchStrategy:
    if not isinstance((path_parameters or {}).get("id"), int):
        return st.just(path_parameters)
    path = context.operation.path
    kind = next(k for k in ("domains", "reports", "inbound") if f"/{k}/" in path)
    return st.one_of(
        st.just(path_parameters), _real(kind).map(lambda pk: {**(path_parameters or {}), "id": pk})
    )


@schema.hook
def flatmap_query(context, query: dict | None) -> st.SearchStrategy:
    if not isinstance((query or {}).get("domain"), int):
        return st.just(query)
    return st.one_of(
        st.just(query), _real("domains").map(lambda pk: {**(query or {}), "domain": pk})
    )


@schema.hook
def flatmap_body(context, body: object) -> st.SearchStrategy:
    """Half the domains added have a name that can receive mail, so some are created."""
    if context.operation.label != "POST /api/v1/domains" or not isinstance(body, dict):
        return st.just(body)
    names = st.integers(0, 999).map(lambda i: {**body, "name": f"d{i}.example.org"})
    return st.one_of(st.just(body), names)


@schema.parametrize()
@settings(suppress_health_check=HEALTH, deadline=None)
def test_every_operation_keeps_its_schema(case: schemathesis.Case, secret: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)


def test_linked_operations_keep_their_schema(secret: str) -> None:
    # The state machine class is built from the schema at run time: mypy cannot see it.
    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Every scenario starts from the same data: its writes are rolled back after
            # it, or Hypothesis sees the rules' data change between runs (flaky).
            self._atomic = transaction.atomic()
            self._atomic.__enter__()

        def teardown(self) -> None:
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)

        def get_call_kwargs(self, case: schemathesis.Case) -> dict:
            return {"headers": {"Authorization": f"Bearer {secret}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    scenarios = settings(
        max_examples=20, stateful_step_count=6, derandomize=True, database=None,
        deadline=None, suppress_health_check=HEALTH,
    )  # fmt: skip
    Workflow.run(settings=scenarios)
