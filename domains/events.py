"""Events about domains that other apps act on, without domains importing them.

``domain_event`` is sent inside the transaction of the change, with ``domain`` (a
``Domain``), ``kind`` (``domain.verified``, ``domain.unverified``, ``dns_check.changed``
or ``mta_sts.changed``) and ``data`` (a dict of JSON values about the change: for a DNS
check, ``check``, the new ``DnsCheck``). Receivers write in the same transaction (the
webhooks app records its deliveries there), so an event and what it causes commit together.
"""

from typing import Any

from django.dispatch import Signal

from domains.models import Domain

domain_event = Signal()


def domain_event_send(domain: Domain, kind: str, **data: Any) -> None:
    domain_event.send(sender=Domain, domain=domain, kind=kind, data=data)
