"""The plain path of ``parse_report``: reports whose values are already as stored.

Most reports, and nearly every large one (Google's), are minified ASCII JSON with no
escapes, whose strings need no trimming and whose host names are already lower case with
no root dot. For those the failure details, thousands in a large report, go from
msgspec's decoder straight into ``FailureDetail`` structs, and Python never looks at
each value: what makes a report plain is checked once on the whole document, at C
speed. Anything else returns None and the typed path (``parse_fast``) decides, so this
path never rejects a report, and what it builds equals what the checking path builds
(``tests/tlsrpt/test_parse_plain.py`` holds it to both).

Why a plain report's detail values are final as decoded:

- ASCII without a backslash: no escape anywhere, so every string is its raw bytes; and
  msgspec refuses raw control characters, so the only white space a string can hold is
  the space.
- No space next to a quote: no string starts or ends with white space, so trimming
  changes nothing; ``FailureDetail`` refuses empty strings, so none is blank either.
- ``receiving-mx-hostname``: all of a policy's, joined, are lower case with no final dot.
- The prose names (``additional-info-uri``, SocketLabs' ``receiving-mx-host-name``) are
  unknown members here, which sends the report to the typed path.

Repeated keys: msgspec keeps the last. Encoding the structs again writes each member
once (an absent or null detail member not at all), and in a plain document every key,
string and integer encodes to its own bytes, so the encoding is exactly as long as the
raw JSON only if nothing was dropped: no repeated key. (White space between tokens, a
``null`` detail member or ``-0`` make the encoding shorter too, and only send the report
on to the typed path.)
"""

from operator import attrgetter

import msgspec
from msgspec import UNSET, Struct, UnsetType

from .limits import Limits
from .model import FailureDetail, Report
from .parse_fast import (
    DEPTH,
    DateRange,
    NotFast,
    PolicyFields,
    Summary,
    Text,
    policy_from,
    report_from,
)

_QUOTE = ord('"')
# Spaces looked at one by one before two whole-document searches are cheaper.
_FEW_SPACES = 64
_HOSTNAME = attrgetter("receiving_mx_hostname")


class _Policy(Struct, forbid_unknown_fields=True, rename="kebab"):
    policy: PolicyFields
    summary: Summary
    failure_details: list[FailureDetail] | UnsetType | None = UNSET


class _Report(Struct, forbid_unknown_fields=True, rename="kebab"):
    organization_name: str
    date_range: DateRange
    report_id: str
    policies: list[_Policy]
    contact_info: Text = UNSET


_DECODER = msgspec.json.Decoder(_Report)
_ENCODER = msgspec.json.Encoder()


def plain_report_or_none(raw: bytes, limits: Limits) -> Report | None:
    """The report in ``raw`` (BOM already removed) if it is plain, else None."""
    if limits.max_json_depth < DEPTH or not raw.isascii() or b"\\" in raw:
        return None
    if not _unpadded(raw):
        return None
    try:
        decoded = _DECODER.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if len(_ENCODER.encode(decoded)) != len(raw):
        return None  # perhaps a repeated key, perhaps only white space or a null
    details = [p.failure_details or [] for p in decoded.policies]
    if sum(map(len, details)) > limits.max_failure_details:
        return None
    if not all(map(_hosts_as_stored, details)):
        return None
    try:
        policies = list(map(policy_from, decoded.policies, details))
        return report_from(decoded, policies)
    except NotFast:
        return None


def _unpadded(raw: bytes) -> bool:
    """Whether no space in ``raw`` touches a quote, so no string starts or ends with one."""
    at = raw.find(b" ")
    for _ in range(_FEW_SPACES):
        if at < 0:
            return True
        if raw[at - 1] == _QUOTE or raw[at + 1 : at + 2] == b'"':
            return False
        at = raw.find(b" ", at + 1)
    return b'" ' not in raw and b' "' not in raw


def _hosts_as_stored(details: list[FailureDetail]) -> bool:
    """Whether every ``receiving-mx-hostname`` is lower case with no final dot."""
    hosts = "\n".join(filter(None, map(_HOSTNAME, details)))
    return hosts == hosts.lower() and not hosts.endswith(".") and ".\n" not in hosts
