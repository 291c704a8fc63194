"""What a DNS health check found: typed findings with a level, a stable code and a fix."""

from dataclasses import asdict, dataclass
from enum import StrEnum


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"
    # No definitive answer (timeout, SERVFAIL, unreachable): retried, never changes state.
    UNKNOWN = "unknown"


# Worst first: a check's status is the worst level among its findings.
SEVERITY = {Level.ERROR: 3, Level.WARNING: 2, Level.UNKNOWN: 1, Level.OK: 0}


@dataclass(frozen=True)
class Finding:
    level: Level
    code: str  # stable, e.g. "tlsrpt_missing"; stored, shown and asserted in tests
    message: str  # what we saw, in plain English
    fix: str = ""  # what to change, concretely; empty when nothing needs doing

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "level": str(self.level)}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> "Finding":
        return cls(Level(data["level"]), data["code"], data["message"], data.get("fix", ""))


def worst_level(findings: list[Finding]) -> Level:
    if not findings:
        return Level.OK
    return max((f.level for f in findings), key=SEVERITY.__getitem__)
