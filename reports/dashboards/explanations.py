"""Plain-English explanations of inbound outcomes and error codes, for the ingest log."""

ERRORS = {
    "message_too_large": "The message is larger than this installation accepts.",
    "decompressed_too_large": "The report inflates to more than the accepted size "
    "(a compression bomb, or an unusually large report).",
    "too_many_parts": "The email has more MIME parts than are examined.",
    "not_a_report": "No TLS report was found: neither JSON, gzip nor zip, and no report "
    "attachment in the email.",
    "gzip_invalid": "The gzip data is damaged or cut short.",
    "zip_invalid": "The zip archive is damaged or holds no report.",
    "encoding_invalid": "The report is not valid UTF-8 text.",
    "json_invalid": "The report is not valid JSON.",
    "json_too_deep": "The JSON nests deeper than any report needs.",
    "json_duplicate_key": "An object of the report repeats a key, so it can be read two "
    "ways (the message says which key).",
    "schema_invalid": "The JSON is not an RFC 8460 report: a required field is missing or "
    "has the wrong type (the message says which).",
    "too_many_failure_details": "The report lists more failure details than are stored.",
    "count_out_of_range": "Session counts add up past what can be stored.",
    "internal_error": "Processing hit an internal error; it can be retried.",
    "too_many_attempts": "Processing was interrupted several times; the message was set "
    "aside and can be retried.",
    "processing_timeout": "Processing took too long.",
}

OUTCOMES = {
    "received": "Waiting to be processed.",
    "processed": "Stored: its reports count for your verified domains.",
    "duplicate": "Already received: the same reports were stored before.",
    "duplicate_conflicting": "A report with the same organization, report-id and date range "
    "was stored before with different content (corrected numbers, or forged ones). The "
    "first one stored is kept and counted; this one changes nothing and is kept here to "
    "compare.",
    "unattributed": "Parsed, but none of its policies is for one of your verified domains. "
    "Verify the domain, then reprocess.",
    "failed": "Could not be processed.",
}


def explain(status: str, error_code: str) -> str:
    return ERRORS.get(error_code, "") if error_code else OUTCOMES.get(status, "")
