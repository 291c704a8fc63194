"""SMTP TLS Reports (RFC 8460): find, decode and parse them from whatever arrives.

Pure Python, no Django: bytes in, typed dataclasses out, or a ``TlsRptError`` whose
``code`` the caller stores. ``extract`` takes anything a report can arrive as: an e-mail
(RFC 8460 section 5.3, or forwarded, or re-typed by a gateway), a bare JSON document, a
gzip or zip file, or any of those three as base64 text. It never logs message content.
"""

from .decode import Budget, Document, documents, unwrap
from .errors import TlsRptError
from .headers import DnsFunc, header_facts
from .limits import Limits
from .mime import find_documents, parse_message
from .model import Envelope, FailureDetail, FoundReport, HeaderFacts, Policy, Report
from .parse import parse_report

__all__ = [
    "DnsFunc",
    "Envelope",
    "FailureDetail",
    "FoundReport",
    "HeaderFacts",
    "Limits",
    "Policy",
    "Report",
    "TlsRptError",
    "extract",
    "parse_report",
]


def extract(
    data: bytes,
    *,
    limits: Limits = Limits(),  # noqa: B008 - frozen, so one shared default is safe
    dkim_dnsfunc: DnsFunc | None = None,
    filename: str | None = None,
) -> Envelope:
    """Every report in ``data``; raises ``TlsRptError`` if none, or if any is broken.

    ``dkim_dnsfunc`` is dkimpy's key lookup; without it DKIM is not checked at all.
    ``filename`` names a bare payload (an upload, an HTTPS POST) for attribution.
    """
    if len(data) > limits.max_message_bytes:
        raise TlsRptError(
            "message_too_large", f"The message is larger than {limits.max_message_bytes} bytes."
        )
    budget = Budget(limits.max_decompressed_bytes)
    kind, payload = unwrap(data)
    if kind is not None:
        found = documents(payload, name=filename, limits=limits, budget=budget, declared=True)
        return Envelope(headers=None, reports=_parse_all(found, limits))
    message = parse_message(data)
    reports = _parse_all(find_documents(message, limits, budget), limits)
    # Parse first: a broken report fails the message before any DNS lookup is made.
    return Envelope(headers=header_facts(message, data, dkim_dnsfunc), reports=reports)


def _parse_all(found: list[Document], limits: Limits) -> list[FoundReport]:
    if not found:
        raise TlsRptError("not_a_report", "No TLS report was found in the message.")
    return [FoundReport(parse_report(d.raw, limits), d.raw, d.name) for d in found]
