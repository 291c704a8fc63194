"""The per-tenant audit log: every write that matters records who did it and when."""

from django.http import HttpRequest

from accounts.models import AuditEvent, Tenant, User


def audit_record(
    *,
    tenant: Tenant,
    actor: User | None,
    action: str,
    summary: str,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Add an event; call inside the transaction of the change it records."""
    return AuditEvent.objects.create(
        tenant=tenant,
        actor=actor if actor and actor.pk else None,
        actor_email=actor.email if actor else "",
        action=action,
        summary=summary[:500],
        ip_address=_client_ip(request),
    )


def _client_ip(request: HttpRequest | None) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is the client's word unless a proxy rewrites it.
    return request.META.get("REMOTE_ADDR") or None if request else None
