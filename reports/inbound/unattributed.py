"""What an unattributed message's reports were about, for the ingest log.

An unattributed message stored no report (none of its policies named one of the team's
verified domains), so the domain it named is only in its bytes: the log reads them again
(the parser, without the DKIM lookup) for the unattributed messages of the page shown,
and says, for each name, whether it is a domain of this team waiting for verification,
or one it could add. Messages larger than ``READ_AT_MOST`` are not read again on a page
view; their row says to download the message. Callers are inside the tenant's scope.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from domains.models import Domain
from reports.ingest.attribution import domain_from_filename
from reports.ingest.messages import limits_from_settings
from reports.models import InboundMessage
from reports.tlsrpt import Envelope, TlsRptError, extract

READ_AT_MOST = 512 * 1024  # bytes of one message read again for the log
NAMES_AT_MOST = 5  # domains named per message


@dataclass(frozen=True)
class Named:
    """A domain an unattributed message's report named, and what the team has of it."""

    name: str
    domain: Domain | None  # the team's domain of that name (not verified), if added


def named_domains(messages: Iterable[InboundMessage]) -> dict[int, list[Named]]:
    """Message id -> the domains its reports named, for the unattributed ones given (two
    queries at most: their bytes, then the team's domains of those names)."""
    ids = [m.pk for m in messages if m.status == "unattributed" and m.size <= READ_AT_MOST]
    if not ids:
        return {}
    rows = InboundMessage.objects.filter(pk__in=ids).values_list("pk", "raw", "filename")
    names = {pk: _names(bytes(raw), filename) for pk, raw, filename in rows}
    wanted = {n for found in names.values() for n in found}
    domains = {d.name: d for d in Domain.objects.filter(name__in=wanted)} if wanted else {}
    return {pk: [Named(n, domains.get(n)) for n in found] for pk, found in names.items()}


def _names(raw: bytes, filename: str) -> list[str]:
    try:
        envelope = extract(raw, limits=limits_from_settings(), filename=filename or None)
    except TlsRptError:
        return []
    return list(dict.fromkeys(_named_in(envelope, filename)))[:NAMES_AT_MOST]


def _named_in(envelope: Envelope, filename: str) -> Iterable[str]:
    """The policy domains, else what the e-mail's header or the file name says."""
    found = False
    for report in envelope.reports:
        for policy in report.report.policies:
            name = _host(policy.policy_domain or "")
            if name:
                found = True
                yield name
    if not found:
        headers = envelope.headers
        for fallback in (
            headers.tls_report_domain if headers else None,
            *(domain_from_filename(r.filename) for r in envelope.reports),
            domain_from_filename(filename),
        ):
            if fallback:
                yield _host(fallback)


def _host(name: str) -> str:
    return name.strip().rstrip(".").lower()
