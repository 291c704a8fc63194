"""Changing a domain's hosted MTA-STS policy: validated, versioned, audited, re-served.

``hosted_policy_update`` is the one write. A change to what senders read (mode, mx,
max_age) or turning hosting on gets a new policy id, which the ``_mta-sts`` TXT record
must then name; a change of settings alone (TXT mode, automation) keeps the id. Each
change leaves a ``HostedPolicyVersion`` and an audit event in its transaction, and the
served answer for ``mta-sts.<domain>`` is refreshed once it commits. In txt_mode hosted
our DNS server reads the policy's row itself (``dns_zone``), so its answer changes with
this transaction.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import User
from domains.events import domain_event_send
from domains.hosting import dns_zone, serving
from domains.hosting.models import ChangeSource, HostedPolicy, HostedPolicyVersion, TxtMode
from domains.hosting.policy import (
    PolicyError,
    max_age_validate,
    mode_validate,
    mx_patterns_normalize,
    policy_id_for,
)
from domains.models import Domain


@dataclass(frozen=True)
class PolicySettings:
    """Everything a person (or the product) sets about a domain's hosting."""

    enabled: bool
    mode: str
    mx: list[str]
    max_age: int
    txt_mode: str = TxtMode.CUSTOMER
    auto_promote: bool = False
    auto_rollback: bool = False


_SERVED = ("mode", "mx", "max_age")
_FIELDS = ("enabled", *_SERVED, "txt_mode", "auto_promote", "auto_rollback")


def _validated(domain: Domain, wanted: PolicySettings) -> PolicySettings:
    """``wanted`` with its patterns normalised; PolicyError when it cannot be served."""
    mode = mode_validate(wanted.mode)
    mx = list(mx_patterns_normalize(wanted.mx, mode=mode))
    max_age_validate(wanted.max_age)
    if wanted.enabled and not domain.is_verified:
        raise PolicyError(
            "domain_not_verified",
            f"{domain.name} is not verified yet: hosting starts once its ownership is proven.",
        )
    if wanted.txt_mode not in TxtMode.values:
        raise PolicyError("txt_mode_unavailable", "txt_mode is customer or hosted.")
    if wanted.txt_mode == TxtMode.HOSTED and not dns_zone.offered():
        raise PolicyError(
            "txt_mode_unavailable",
            f"Only txt_mode customer is offered: {dns_zone.unavailable_reason()}.",
        )
    if wanted.enabled and not settings.HOSTED_MTA_STS:
        raise PolicyError("hosting_off", "This server does not host MTA-STS policies.")
    return replace(wanted, mode=mode, mx=mx)


def hosted_policy_update(
    *,
    domain: Domain,
    wanted: PolicySettings,
    actor: User | None,
    source: ChangeSource,
    request: HttpRequest | None = None,
    reason: str = "",
) -> HostedPolicy:
    """Apply ``wanted`` to the domain's hosted policy; PolicyError when it cannot be.

    Nothing is written when nothing changes. ``reason`` (why the product made a change)
    starts the version's and the audit event's summary. The caller is in the domain's
    tenant's scope.
    """
    values = _validated(domain, wanted)
    with transaction.atomic():
        # The domain's row serialises changes, the first one (which creates the policy) too.
        domain = Domain.objects.select_for_update().select_related("tenant").get(pk=domain.pk)
        policy = HostedPolicy.objects.filter(domain=domain).first() or HostedPolicy(
            tenant=domain.tenant, domain=domain
        )
        changed = [name for name in _FIELDS if getattr(policy, name) != getattr(values, name)]
        if policy.pk is not None and not changed:
            return policy
        summary = _summary(policy, values, changed)
        summary = f"{reason}: {summary}" if reason else summary
        new_id = (
            not policy.policy_id
            or any(name in _SERVED for name in changed)
            or (values.enabled and not policy.enabled)
        )
        now = timezone.now()
        for name in _FIELDS:
            setattr(policy, name, getattr(values, name))
        if new_id:
            policy.policy_id = policy_id_for(now, _ids_taken(policy))
            summary += f"; new policy id {policy.policy_id}"
        policy.updated_at = now
        policy.save()
        if dns_zone.offered():  # our DNS server answers from these rows once this commits
            dns_zone.zone_sync()
        _record(policy, actor=actor, source=source, summary=summary, now=now, request=request)
        transaction.on_commit(lambda: serving.served_refresh(domain.name))
        domain_event_send(domain, "mta_sts.changed", summary=summary)
    return policy


def _ids_taken(policy: HostedPolicy) -> set[str]:
    if policy.pk is None:
        return set()
    taken = set(HostedPolicyVersion.objects.filter(hosted_policy=policy)
                .values_list("policy_id", flat=True))  # fmt: skip
    return taken | {policy.policy_id}


def _record(
    policy: HostedPolicy, *, actor: User | None, source: ChangeSource, summary: str,
    now: datetime, request: HttpRequest | None,
) -> None:  # fmt: skip
    person = actor if actor is not None and actor.pk else None
    HostedPolicyVersion.objects.create(
        tenant_id=policy.tenant_id, hosted_policy=policy, policy_id=policy.policy_id,
        **{name: getattr(policy, name) for name in _FIELDS},
        changed_at=now, changed_by=person, changed_by_email=person.email if person else "",
        source=source, summary=summary[:500],
    )  # fmt: skip
    audit_record(
        tenant=policy.domain.tenant, actor=person, action="mta_sts.hosting_changed",
        summary=f"MTA-STS hosting of {policy.domain.name}: {summary}", request=request,
    )  # fmt: skip


def _summary(policy: HostedPolicy, values: PolicySettings, changed: list[str]) -> str:
    if policy.pk is None:
        state = "on" if values.enabled else "off"
        mx = ", ".join(values.mx) or "none"
        return f"hosting set up ({state}): mode {values.mode}, mx {mx}, max_age {values.max_age}"
    return "; ".join(
        _difference(name, getattr(policy, name), getattr(values, name)) for name in changed
    )


def _difference(name: str, old: object, new: object) -> str:
    if name == "enabled":
        return "hosting turned on" if new else "hosting turned off"
    if name == "mx" and isinstance(old, list) and isinstance(new, list):
        parts = [f"+{p}" for p in new if p not in old] + [f"-{p}" for p in old if p not in new]
        return f"mx {' '.join(parts) or 'reordered'}"
    if name in ("auto_promote", "auto_rollback"):
        return f"{name.replace('_', ' ')} {'on' if new else 'off'}"
    return f"{name} {old} → {new}"
