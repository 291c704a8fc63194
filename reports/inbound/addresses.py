"""Which tenant an inbound address or token belongs to."""

from django.conf import settings

from accounts.models import Tenant


def tenant_for_address(address: str) -> Tenant | None:
    """The tenant of ``<token>@<INBOUND_DOMAIN>``: case-insensitive, ``+tag`` ignored."""
    local, at, domain = address.strip().strip("<>").rpartition("@")
    if not at or domain.lower().rstrip(".") != settings.INBOUND_DOMAIN:
        return None
    return tenant_for_token(local.split("+", 1)[0])


def tenant_for_token(token: str) -> Tenant | None:
    token = token.lower()
    if not token.isalnum():
        return None
    return Tenant.objects.filter(inbound_token=token).first()
