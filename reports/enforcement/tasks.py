"""Celery tasks of the MTA-STS enforcement loop: the hourly sweep, one step per domain,
and the e-mail of each automatic change.

Names are stable (``reports.enforcement.*``): the beat schedule and the routes use them.
"""

from datetime import datetime

from celery import Task, shared_task
from django.db import transaction

from accounts.tenancy import across_tenants, row_scope
from domains.hosting.models import HostedPolicy, HostedPolicyVersion
from reports.enforcement.loop import enforcement_step
from reports.enforcement.mail import change_email_send


def loop_policies() -> list[int]:
    """Every tenant's hosted policy that is on and has the loop on (promote or roll back)."""
    with across_tenants("beat: the MTA-STS enforcement loop visits every hosted domain with it on"):
        rows = HostedPolicy.objects.filter(enabled=True).exclude(
            auto_promote=False, auto_rollback=False
        )
        return list(rows.order_by("pk").values_list("pk", flat=True))


@shared_task(name="reports.enforcement.run_loop")
def run_loop(at: str | None = None) -> int:
    """Queue one step per domain with the loop on; ``at`` (ISO) is the moment judged."""
    ids = loop_policies()
    for pk in ids:
        enforcement_domain_step.delay(pk, at)
    return len(ids)


@shared_task(
    name="reports.enforcement.domain_step", acks_late=True, max_retries=3, default_retry_delay=120
)
def enforcement_domain_step(policy_id: int, at: str | None = None) -> str:
    with row_scope(HostedPolicy, policy_id, "domain", "domain__tenant") as policy:
        if policy is None:
            return "missing"
        with transaction.atomic():
            result = enforcement_step(policy.domain, datetime.fromisoformat(at) if at else None)
    action = result.decision.action
    if action is None:
        return "nothing"
    if result.version is None:
        return f"{action}: the policy changed meanwhile"
    return f"{action}: {result.version.policy_id}"


@shared_task(
    name="reports.enforcement.send_change_email", bind=True, acks_late=True,
    max_retries=5, default_retry_delay=300,
)  # fmt: skip
def send_change_email(self: Task, version_id: int, action: str) -> str:
    with row_scope(HostedPolicyVersion, version_id, "hosted_policy__domain__tenant") as version:
        if version is None:
            return "missing"
        try:
            sent = change_email_send(version=version, action=action)
        except Exception as e:
            raise self.retry(exc=e) from e
    return f"sent {sent}"
