"""The self-test's task (queue ``default``): id in, the row re-read in its tenant's
scope, the sending done by ``reports.selftest.services``."""

from celery import shared_task

from accounts.tenancy import row_scope
from reports.selftest.models import SelfTest
from reports.selftest.services import RUN_SELF_TEST, self_test_run


@shared_task(name=RUN_SELF_TEST, acks_late=True)
def run_self_test(test_id: int) -> str:
    """Send one self-test's report through the doors (runs once per test)."""
    with row_scope(SelfTest, test_id, "domain__tenant") as test:
        if test is None:
            return "missing"
        self_test_run(test=test)
        return test.smtp_status
