"""Creating and revoking a tenant's API keys (each change in the audit log)."""

from datetime import datetime
from typing import cast

from django.db import transaction
from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.models import ApiKey, KeyScope, Tenant, User


def api_key_create(
    *,
    tenant: Tenant,
    actor: User,
    name: str,
    scope: KeyScope,
    expiry: datetime | None = None,
    request: HttpRequest | None = None,
) -> tuple[ApiKey, str]:
    """The new key and its secret, which is shown once and stored only hashed."""
    with transaction.atomic():
        # The library's manager is typed with its abstract model; the row is an ApiKey.
        key, secret = cast(
            tuple[ApiKey, str],
            ApiKey.objects.create_key(
                tenant=tenant, name=name, scope=scope, expiry_date=expiry, created_by=actor
            ),
        )
        audit_record(
            tenant=tenant, actor=actor, action="key.created",
            summary=f"Created the {scope} API key {name} ({key.prefix})", request=request,
        )  # fmt: skip
    return key, secret


def api_key_revoke(*, key: ApiKey, actor: User, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        ApiKey.objects.filter(pk=key.pk).update(revoked=True)
        audit_record(
            tenant=key.tenant, actor=actor, action="key.revoked",
            summary=f"Revoked the API key {key.name} ({key.prefix})", request=request,
        )  # fmt: skip
