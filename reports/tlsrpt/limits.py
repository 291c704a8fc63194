"""Resource limits for reading untrusted input; anything past them is rejected."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = 25 * 1024 * 1024
    # Total output of every gzip stream and zip member in one input.
    max_decompressed_bytes: int = 50 * 1024 * 1024
    max_mime_parts: int = 1000
    max_json_depth: int = 32
    # Total over all policies of one report.
    max_failure_details: int = 100_000
