"""One step of the MTA-STS enforcement loop for one hosted domain: promote, ramp, roll
back, or nothing, decided from the domain's reports and its policy's versions.

The rules (each number a setting, README's configuration table):

- **Roll back** (``auto_rollback`` on, the policy enforced): on a day since the policy
  entered enforce, the sessions reported under its ``sts`` policy failed at a rate of at
  least ``MTA_STS_ROLLBACK_RATE`` with at least ``MTA_STS_ROLLBACK_MIN_SESSIONS`` sessions
  that day (so one failed session of three does not), or a failure result type was
  reported that the readiness window before enforce (the baseline) never showed. Back to
  testing with a new id, and automatic promotion paused until a person re-enables it.
- **Promote** (``auto_promote`` on, not paused, the policy in testing): the readiness
  verdict is ``ready`` today and the policy id served now has been in testing for the
  whole readiness window, so every day of the window was judged against it. Enforce
  with ``max_age`` the first ramp step: senders keep a policy they fetched until its
  ``max_age`` runs out, so a short one lets a rollback reach them soon.
- **Ramp** (``auto_promote`` on, not paused, the policy enforced, no rollback due): the
  policy id served now has been served for its whole ``max_age``; then the next step of
  ``MTA_STS_RAMP_MAX_AGES`` up to ``MTA_STS_TARGET_MAX_AGE``.

The decision reads the state it changes (the current policy id) and the change is
compare-and-set on it (``domains.hosting.automatic``), so the step is idempotent: run
twice for the same moment, it makes one change. ``at`` is the moment judged (now, or a
test's later day). Callers are in the domain's tenant's scope.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from domains.hosting.automatic import (
    AutoAction,
    auto_paused,
    current_since,
    enforced_since,
    hosted_policy_promote,
    hosted_policy_ramp,
    hosted_policy_rollback,
)
from domains.hosting.models import HostedPolicy, HostedPolicyVersion, StsMode
from domains.models import Domain
from reports.models import DailyFailure, DailyStat, PolicyType
from reports.readiness.verdicts import READY, WINDOW_DAYS, domain_readiness, sessions
from tlsrpt_saas.queueing import task_queue_on_commit

SEND_CHANGE_EMAIL = "reports.enforcement.send_change_email"


@dataclass(frozen=True)
class Decision:
    action: AutoAction | None  # None: nothing to do
    reason: str
    max_age: int | None = None


NOTHING = Decision(None, "")


@dataclass(frozen=True)
class StepResult:
    decision: Decision
    version: HostedPolicyVersion | None  # the change made; None when none was (or lost a race)


def ramp_steps() -> list[int]:
    """The max_age values of the ramp, shortest first, ending at the target."""
    target = settings.MTA_STS_TARGET_MAX_AGE
    return sorted({*(s for s in settings.MTA_STS_RAMP_MAX_AGES if s < target), target})


def enforcement_decide(policy: HostedPolicy, at: datetime) -> Decision:
    if not policy.enabled or not (policy.auto_promote or policy.auto_rollback):
        return NOTHING
    if policy.mode == StsMode.ENFORCE:
        since = enforced_since(policy)
        if policy.auto_rollback and since is not None:
            # Days since enforce began, the last window's at most: an old spike that did
            # not roll back then (the switch was off) is not acted on long after.
            recent = max(since.date(), at.date() - timedelta(days=WINDOW_DAYS))
            reason = rollback_reason(policy.domain, since.date(), recent, at.date())
            if reason:
                return Decision(AutoAction.ROLLBACK, reason)
        return _ramp(policy, at)
    if policy.mode == StsMode.TESTING and policy.auto_promote and not auto_paused(policy):
        return _promote(policy, at)
    return NOTHING


def _promote(policy: HostedPolicy, at: datetime) -> Decision:
    since = current_since(policy)
    if since is None or at - since < timedelta(days=WINDOW_DAYS):
        return NOTHING
    readiness = domain_readiness(policy.domain, today=at.date())
    if readiness.verdict != READY:
        return NOTHING
    return Decision(AutoAction.PROMOTE, readiness.summary, ramp_steps()[0])


def _ramp(policy: HostedPolicy, at: datetime) -> Decision:
    if not policy.auto_promote or auto_paused(policy):
        return NOTHING
    longer = [s for s in ramp_steps() if s > policy.max_age]
    since = current_since(policy)
    if not longer or since is None or at - since < timedelta(seconds=policy.max_age):
        return NOTHING
    days = (at - since).days
    why = f"max_age {policy.max_age} served for {days} day{'s' if days != 1 else ''}, no failures"
    return Decision(AutoAction.RAMP, why, longer[0])


def rollback_reason(domain: Domain, enforced: date, start: date, end: date) -> str:
    """Why the domain enforced since ``enforced`` must go back to testing, judged from the
    days ``start`` to ``end``; "" if it need not."""
    return _rate_exceeded(domain, start, end) or _new_types(domain, enforced, start, end)


def _rate_exceeded(domain: Domain, start: date, end: date) -> str:
    rows = (
        DailyStat.objects.filter(domain=domain, policy_type=PolicyType.STS, day__range=(start, end))
        .values("day")
        .annotate(s=Sum("successful"), f=Sum("failed"))
        .order_by("day")
    )
    rate, least = settings.MTA_STS_ROLLBACK_RATE, settings.MTA_STS_ROLLBACK_MIN_SESSIONS
    for row in rows:
        failed, total = row["f"] or 0, (row["s"] or 0) + (row["f"] or 0)
        if total >= least and failed >= rate * total:
            return (
                f"on {row['day']} {failed} of {sessions(total)} under the sts policy failed "
                f"({100 * failed / total:.1f} %, the threshold is {100 * rate:g} %)"
            )
    return ""


def _new_types(domain: Domain, enforced: date, start: date, end: date) -> str:
    """Failure result types reported from ``start`` that the baseline (the window before
    ``enforced``) never showed."""
    rows = DailyFailure.objects.filter(domain=domain, policy_type=PolicyType.STS, count__gt=0)
    before = (enforced - timedelta(days=WINDOW_DAYS), enforced - timedelta(days=1))
    baseline = set(rows.filter(day__range=before).values_list("result_type", flat=True).distinct())
    found = (
        rows.filter(day__range=(start, end))
        .exclude(result_type__in=baseline)
        .values("result_type")
        .annotate(n=Sum("count"))
        .order_by("result_type")
    )
    if not found:
        return ""
    types = ", ".join(f"{r['result_type']} ({sessions(r['n'])})" for r in found)
    return f"failures of a type not seen in the {WINDOW_DAYS} days before enforce: {types}"


def _apply(domain: Domain, policy: HostedPolicy, decision: Decision) -> HostedPolicyVersion | None:
    expected, why = policy.policy_id, decision.reason
    if decision.action == AutoAction.ROLLBACK:
        return hosted_policy_rollback(domain=domain, expected_id=expected, reason=why)
    assert decision.max_age is not None
    if decision.action == AutoAction.PROMOTE:
        return hosted_policy_promote(
            domain=domain, expected_id=expected, max_age=decision.max_age, reason=why
        )
    return hosted_policy_ramp(
        domain=domain, expected_id=expected, max_age=decision.max_age, reason=why
    )


def enforcement_step(domain: Domain, at: datetime | None = None) -> StepResult:
    """Decide and make the domain's change, if any; its admins are e-mailed once it commits."""
    policy = HostedPolicy.objects.filter(domain=domain).select_related("domain").first()
    if policy is None:
        return StepResult(NOTHING, None)
    decision = enforcement_decide(policy, at or timezone.now())
    if decision.action is None:
        return StepResult(decision, None)
    version = _apply(domain, policy, decision)
    if version is not None:
        task_queue_on_commit(SEND_CHANGE_EMAIL, version.pk, str(decision.action))
    return StepResult(decision, version)
