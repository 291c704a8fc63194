"""Tenancy fails closed: every lift of scoping is a named, listed decision.

Code runs in the scope of one tenant (a request's, a task's row's) or of a known set of
tenants. The few true cross-tenant sweeps go through ``accounts.tenancy.across_tenants``
with a reason; ``BYPASSES`` below lists each use. A new one fails here until it is added
to that list, in the same commit, where a reviewer sees it. ``scopes_disabled`` itself is
used by ``accounts.tenancy`` alone.
"""

import ast
from pathlib import Path

import pytest
from django_scopes import scope
from django_scopes.exceptions import ScopeError

from accounts.models import Invitation, Role, Tenant
from accounts.tenancy import across_tenants, row_scope, tenant_of
from tests.conftest import ROOT
from tests.factories import make_tenant

# (file, why) of every ``across_tenants("why")`` in the product's code.
BYPASSES = [
    ("reports/demo/generate.py", "demo: finds the demo tenant by its slug to rebuild it"),
    ("accounts/invitations.py", "an invitation link names no tenant: looked up by its token"),
    (
        "accounts/tenancy.py",
        "a task given a row's id learns the row's tenant, and only that",
    ),
    (
        "domains/hosting/serving.py",
        "serving: a sender asks for a domain's hosted policy by its name",
    ),
    ("domains/sweeps.py", "beat: ownership checks of every tenant's pending domains"),
    ("domains/sweeps.py", "beat: daily DNS health checks of every tenant's verified domains"),
    ("reports/inbound/sweeps.py", "beat: polls every tenant's active IMAP mailboxes"),
    (
        "reports/enforcement/tasks.py",
        "beat: the MTA-STS enforcement loop visits every hosted domain with it on",
    ),
    ("reports/ingest/claims.py", "claims: a drain takes the waiting messages of every tenant"),
    (
        "reports/webhooks/sweeps.py",
        "beat: webhook deliveries due and not queued, of every tenant",
    ),
    (
        "reports/webhooks/sweeps.py",
        "retention: deletes every tenant's old webhook deliveries",
    ),
    (
        "reports/ingest/claims.py",
        "claims: do messages of any tenant wait, held by other workers",
    ),
    ("reports/ingest/retention.py", "retention purge: deletes every tenant's expired rows"),
    ("reports/ingest/wake.py", "sweep: counts every tenant's messages waiting too long"),
    (
        "reports/ingest/wake.py",
        "sweep: every tenant's messages stored while the broker was down",
    ),
    (
        "reports/metrics/operator.py",
        "metrics: the operators' figures count every tenant's rows",
    ),
    (
        "reports/management/commands/reprocess.py",
        "operator command: picks failed messages of any tenant",
    ),
    (
        "reports/management/commands/rotate_secrets.py",
        "operator command: re-encrypts every tenant's mailbox passwords",
    ),
    (
        "reports/management/commands/rotate_secrets.py",
        "operator command: re-encrypts every tenant's webhook secrets",
    ),
    (
        "tlsrpt_saas/middleware.py",
        "the operators' Django admin: staff see every tenant's rows",
    ),
]

# Modules that may use django_scopes.scopes_disabled: only accounts.tenancy.
SCOPES_DISABLED_ALLOWED = {"accounts/tenancy.py"}

# The product; tests and benchmarks set up data across tenants as they need.
SOURCE_DIRS = ("accounts", "domains", "reports", "tlsrpt_saas", "bin")


def _sources() -> list[Path]:
    return sorted(
        path
        for top in SOURCE_DIRS
        for path in (ROOT / top).rglob("*.py")
        if not any(part.startswith(".") or part == "node_modules" for part in path.parts)
    )


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else ""


def _bypasses() -> list[tuple[str, int, str]]:
    """(file, line, why) of every call of across_tenants; why is "?" if not a literal."""
    found = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and _name(node.func) == "across_tenants":
                arg = node.args[0] if node.args else None
                why = arg.value if isinstance(arg, ast.Constant) else "?"
                found.append((str(path.relative_to(ROOT)), node.lineno, str(why)))
    return found


def _scopes_disabled_users() -> list[str]:
    hits = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                used = "scopes_disabled" in [alias.name for alias in node.names]
            elif isinstance(node, ast.Name | ast.Attribute):
                used = _name(node) == "scopes_disabled"
            else:
                continue
            if used:
                hits.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return hits


def test_every_cross_tenant_sweep_is_listed() -> None:
    found = _bypasses()
    listing = "\n".join(f"{file}:{line}: {why}" for file, line, why in found)
    assert sorted((file, why) for file, _, why in found) == sorted(BYPASSES), listing


def test_only_the_tenancy_module_lifts_scoping() -> None:
    hits = _scopes_disabled_users()
    assert [h for h in hits if h.split(":")[0] not in SCOPES_DISABLED_ALLOWED] == []


def test_a_bypass_must_say_why() -> None:
    with pytest.raises(ValueError), across_tenants("  "):
        pass


@pytest.mark.django_db
def test_row_scope_enters_the_tenant_of_the_row_and_no_other() -> None:
    acme, other = make_tenant("acme"), make_tenant("other")
    with scope(tenant=acme):
        invitation = Invitation.objects.create(tenant=acme, email="a@x.test", role=Role.MEMBER)
    with scope(tenant=other):
        Invitation.objects.create(tenant=other, email="b@x.test", role=Role.MEMBER)
    assert tenant_of(Invitation, invitation.pk) == acme.pk
    with row_scope(Invitation, invitation.pk) as row:
        assert row == invitation
        assert list(Invitation.objects.values_list("email", flat=True)) == ["a@x.test"]
    with pytest.raises(ScopeError):
        Invitation.objects.count()  # the scope ends with the block


@pytest.mark.django_db
def test_row_scope_of_a_missing_row_is_none() -> None:
    with row_scope(Invitation, 10**9) as row:
        assert row is None
    with row_scope(Tenant, 10**9) as tenant:
        assert tenant is None
