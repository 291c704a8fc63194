"""The one exception the parser raises, with a stable code a caller can store and show.

Codes:

- ``message_too_large``: the input is over ``Limits.max_message_bytes``.
- ``decompressed_too_large``: gzip or zip content inflates past
  ``Limits.max_decompressed_bytes`` (counted across the whole input).
- ``too_many_parts``: more MIME parts (or zip members) than ``Limits.max_mime_parts``,
  or MIME parts nested too deeply to walk.
- ``not_a_report``: nothing in the input looks like a TLS report.
- ``gzip_invalid``: corrupt, truncated or trailing-garbage gzip data.
- ``zip_invalid``: a zip archive that cannot be read (corrupt, encrypted, or a
  compression method other than stored/deflate).
- ``encoding_invalid``: the JSON is not UTF-8.
- ``json_invalid``: not JSON (syntax, NaN/Infinity, trailing garbage), or a part typed
  as a TLS report that holds no JSON.
- ``json_duplicate_key``: an object repeats a key (``report-id``, a count...), which
  JSON parsers read differently; the message names the key.
- ``json_too_deep``: JSON nested deeper than ``Limits.max_json_depth``.
- ``schema_invalid``: JSON that is not an RFC 8460 report (missing required structure,
  wrong types, bad dates, counts that are not integers in 0..2**63-1).
- ``too_many_failure_details``: more failure details in one report than
  ``Limits.max_failure_details``.
"""


class TlsRptError(Exception):
    """A report could not be read; ``message`` is safe to show to the user.

    ``domains.stspolicy.RecordError`` (a DNS record or policy is invalid) keeps the same
    contract, code and message, for another idea; this package imports nothing of the project.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"TlsRptError({self.code!r}, {self.message!r})"
