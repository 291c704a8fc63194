"""The product's own changes to a hosted MTA-STS policy (the enforcement loop's writes),
and the loop's state as people see it.

Three changes: **promote** (testing → enforce with a short ``max_age``), **ramp** (a
longer ``max_age`` while enforced) and **roll back** (enforce → testing, automatic
promotion turned off). Each goes through ``hosted_policy_update`` with source ``auto`` and
no person, so it is a version with a new policy id, audited (by no one: the product) and
served at once, exactly like a change made on the page; the version's summary starts with
why the product made it.

Each is compare-and-set: the caller names the policy id and mode it decided from, and
under the domain row's lock (the one ``hosted_policy_update`` takes) nothing is written
unless the policy is still that one. Running the loop twice, or a person saving in
between, therefore makes at most one change. Callers are in the domain's tenant's scope.

**Paused**: after a rollback automatic promotion stays off until a person turns it on
again (on the page or through the API); that is read from the versions, so who
re-enabled it and when is the version that did.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from django.db import transaction
from django.db.models import QuerySet

from domains.hosting.models import ChangeSource, HostedPolicy, HostedPolicyVersion, StsMode
from domains.hosting.policy import PolicyError
from domains.hosting.services import PolicySettings, hosted_policy_update
from domains.models import Domain

log = logging.getLogger(__name__)


class AutoAction(StrEnum):
    PROMOTE = "promote"
    RAMP = "ramp"
    ROLLBACK = "rollback"


def hosted_policy_promote(
    *, domain: Domain, expected_id: str, max_age: int, reason: str
) -> HostedPolicyVersion | None:
    """testing → enforce with ``max_age``; None when the policy is no longer ``expected_id``."""
    return _change(
        domain, expected_id, StsMode.TESTING,
        reason=f"Promoted to enforce by the product ({reason})",
        wanted=lambda s: replace(s, mode=StsMode.ENFORCE, max_age=max_age),
    )  # fmt: skip


def hosted_policy_ramp(
    *, domain: Domain, expected_id: str, max_age: int, reason: str
) -> HostedPolicyVersion | None:
    """A longer ``max_age`` for the enforced policy; None when it changed meanwhile."""
    return _change(
        domain, expected_id, StsMode.ENFORCE, reason=f"max_age ramped by the product ({reason})",
        wanted=lambda s: replace(s, max_age=max_age),
    )  # fmt: skip


def hosted_policy_rollback(
    *, domain: Domain, expected_id: str, reason: str
) -> HostedPolicyVersion | None:
    """enforce → testing, automatic promotion off (paused); None when it changed meanwhile."""
    return _change(
        domain, expected_id, StsMode.ENFORCE,
        reason=f"Rolled back to testing by the product ({reason}); automatic promotion paused",
        wanted=lambda s: replace(s, mode=StsMode.TESTING, auto_promote=False),
    )  # fmt: skip


def _change(
    domain: Domain,
    expected_id: str,
    expected_mode: str,
    *,
    reason: str,
    wanted: Callable[[PolicySettings], PolicySettings],
) -> HostedPolicyVersion | None:
    with transaction.atomic():
        Domain.objects.select_for_update().filter(pk=domain.pk).first()
        policy = HostedPolicy.objects.filter(domain=domain, enabled=True).first()
        if policy is None or policy.policy_id != expected_id or policy.mode != expected_mode:
            return None
        now = settings_of(policy)
        try:
            hosted_policy_update(
                domain=domain, wanted=wanted(now), actor=None, source=ChangeSource.AUTO,
                reason=reason,
            )  # fmt: skip
        except PolicyError as e:
            log.warning("automatic MTA-STS change of %s refused: %s", domain.name, e.message)
            return None
        version = _latest(policy)
        if version is None or version.policy_id == expected_id:
            return None
        return version


def settings_of(policy: HostedPolicy) -> PolicySettings:
    """The policy's settings as they are, to change one of them."""
    return PolicySettings(
        enabled=policy.enabled, mode=policy.mode, mx=list(policy.mx), max_age=policy.max_age,
        txt_mode=policy.txt_mode, auto_promote=policy.auto_promote,
        auto_rollback=policy.auto_rollback,
    )  # fmt: skip


def _latest(policy: HostedPolicy) -> HostedPolicyVersion | None:
    return _versions(policy).first()


def _versions(policy: HostedPolicy) -> QuerySet[HostedPolicyVersion]:
    """Newest first."""
    return HostedPolicyVersion.objects.filter(hosted_policy=policy).order_by("-changed_at", "-pk")


def is_rollback(version: HostedPolicyVersion) -> bool:
    """The product only ever changes a policy to testing by rolling it back."""
    return version.source == ChangeSource.AUTO and version.mode == StsMode.TESTING


@dataclass(frozen=True)
class AutoState:
    """The loop's state for the page and the API."""

    paused_since: datetime | None  # rolled back, and no person has re-enabled promotion since
    paused_reason: str
    last_automatic: HostedPolicyVersion | None

    @property
    def paused(self) -> bool:
        return self.paused_since is not None


def auto_state(policy: HostedPolicy) -> AutoState:
    if policy.pk is None:
        return AutoState(None, "", None)
    versions = _versions(policy)
    last = versions.filter(source=ChangeSource.AUTO).first()
    rollback = versions.filter(source=ChangeSource.AUTO, mode=StsMode.TESTING).first()
    if rollback is None or policy.auto_promote:
        return AutoState(None, "", last)
    re_enabled = versions.filter(changed_at__gt=rollback.changed_at, auto_promote=True).exists()
    if re_enabled:
        return AutoState(None, "", last)
    return AutoState(rollback.changed_at, rollback.summary, last)


def auto_paused(policy: HostedPolicy) -> bool:
    return auto_state(policy).paused


def current_since(policy: HostedPolicy) -> datetime | None:
    """When the policy id served now first appeared: senders have had it since then."""
    return (
        HostedPolicyVersion.objects.filter(hosted_policy=policy, policy_id=policy.policy_id)
        .order_by("changed_at")
        .values_list("changed_at", flat=True)
        .first()
    )


def enforced_since(policy: HostedPolicy) -> datetime | None:
    """When the policy last entered enforce (None unless it is enforced now)."""
    if policy.mode != StsMode.ENFORCE:
        return None
    versions = HostedPolicyVersion.objects.filter(hosted_policy=policy)
    before = (
        versions.exclude(mode=StsMode.ENFORCE, enabled=True)
        .order_by("-changed_at")
        .values_list("changed_at", flat=True)
        .first()
    )
    entered = versions.filter(mode=StsMode.ENFORCE, enabled=True)
    if before is not None:
        entered = entered.filter(changed_at__gt=before)
    return entered.order_by("changed_at").values_list("changed_at", flat=True).first()
