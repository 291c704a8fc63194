"""The overview's "Getting started" checklist: its steps, and the one to take next.

Steps can be done out of order (a report can arrive before the TLS-RPT record is
checked), so the call to action follows the first step not done, with the domain it is
about, never the number of domains on some list.
"""

from dataclasses import dataclass

from domains.models import Domain
from reports.models import Report


@dataclass(frozen=True)
class Step:
    key: str  # "add", "verify", "publish", "receive": which call to action the page shows
    label: str
    done: bool
    domain: Domain | None = None  # the domain the call to action is about


@dataclass(frozen=True)
class Checklist:
    steps: list[Step]

    @property
    def next(self) -> Step | None:
        return next((step for step in self.steps if not step.done), None)

    @property
    def done(self) -> bool:
        return self.next is None


def checklist(domains: list[Domain]) -> Checklist:
    """The tenant's checklist, from its domains (inside the tenant's scope)."""
    verified = [d for d in domains if d.is_verified]
    unverified = next((d for d in domains if not d.is_verified), None)
    unpublished = next((d for d in verified if not d.tlsrpt_ok), None)
    return Checklist(
        [
            Step("add", "Add a domain", bool(domains)),
            Step("verify", "Verify that you own it", bool(verified), unverified),
            Step(
                "publish",
                "Publish its TLS-RPT record",
                any(d.tlsrpt_ok for d in domains),
                unpublished or (domains[0] if domains else None),
            ),
            # A self-test's report proves the pipeline, not that senders reach the address.
            Step(
                "receive", "Receive the first report", Report.objects.filter(is_test=False).exists()
            ),
        ]
    )
