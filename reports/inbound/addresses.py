"""Which tenant an inbound address or token belongs to.

Doors look the token up for every message; a found token is remembered in this process
for ``_TTL`` seconds (a tenant deleted meanwhile makes the store fail, which evicts it).
"""

import time

from django.conf import settings

from accounts.models import Tenant

_TTL = 30.0
_known: dict[str, tuple[float, int]] = {}


def tenant_id_for_address(address: str) -> int | None:
    """The tenant of ``<token>@<INBOUND_DOMAIN>``: case-insensitive, ``+tag`` ignored."""
    local, at, domain = address.strip().strip("<>").rpartition("@")
    if not at or domain.lower().rstrip(".") != settings.INBOUND_DOMAIN:
        return None
    return tenant_id_for_token(local.split("+", 1)[0])


def tenant_id_for_token(token: str) -> int | None:
    token = token.lower()
    if not token.isalnum():
        return None
    now = time.monotonic()
    hit = _known.get(token)
    if hit and hit[0] > now:
        return hit[1]
    tenant_id = Tenant.objects.filter(inbound_token=token).values_list("pk", flat=True).first()
    if tenant_id is not None:
        _known[token] = (now + _TTL, tenant_id)
    return tenant_id


def forget_token(token: str) -> None:
    _known.pop(token.lower(), None)
