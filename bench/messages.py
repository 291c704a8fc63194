"""Deterministic TLS report e-mails shaped like Google's (RFC 8460 section 5.3).

Each message is ``multipart/report; report-type="tlsrpt"`` with a short text part and an
``application/tlsrpt+gzip`` attachment named as in section 5.1, carrying minified JSON.
Only the standard library is used, so the parsedmarc worker in its own venv can import
this module too. ``expected`` sums what a correct ingest must end up storing.
"""

import base64
import gzip
import json
import random
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

DOMAIN = "example.com"
INBOUND = "tlsrpt-bench@reports.localhost"
# The last UTC day reports cover; days run back from it, so figures never depend on today.
LAST_DAY = datetime(2025, 6, 30, tzinfo=UTC)
DAYS = 30

RESULT_TYPES = {
    "sts": [
        "certificate-host-mismatch", "certificate-expired", "certificate-not-trusted",
        "validation-failure", "starttls-not-supported", "sts-policy-fetch-error",
        "sts-policy-invalid", "sts-webpki-invalid",
    ],
    "tlsa": ["tlsa-invalid", "dnssec-invalid", "dane-required", "validation-failure"],
    "no-policy-found": ["starttls-not-supported", "certificate-not-trusted"],
}  # fmt: skip
# Sending organizations: (organization-name, submitter domain, contact-info).
SENDERS = [
    ("Google Inc.", "google.com", "smtp-tls-reporting@google.com"),
    ("Microsoft Corporation", "microsoft.com", "tlsrpt-noreply@microsoft.com"),
    ("Mail.Ru", "mail.ru", "tlsrpt@mail.ru"),
    ("Yahoo Inc.", "yahoo.com", "tlsrpt@yahoo.com"),
]
MX_HOSTS = [f"mx{i}.{DOMAIN}" for i in range(1, 5)]
MX_IPS = ["192.0.2.25", "192.0.2.26", "198.51.100.25", "2001:db8::25"]


@dataclass(frozen=True)
class Case:
    name: str
    policies: int
    details: int


TYPICAL = Case("typical", policies=2, details=3)
LARGE = Case("large", policies=5, details=2000)


@dataclass
class Expected:
    """What storing a set of messages must add up to."""

    reports: int = 0
    policies: int = 0
    details: int = 0
    successful: int = 0
    failed: int = 0
    failed_sessions: int = 0  # sum of failed-session-count over every failure detail

    def add(self, other: "Expected") -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)


def _sending_ip(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"2a00:1450:4864:{rng.randrange(1 << 16):x}::{rng.randrange(1, 1 << 16):x}"
    return f"209.85.{rng.randrange(128, 256)}.{rng.randrange(1, 255)}"


def _detail(rng: random.Random, policy_type: str) -> dict:
    mx = rng.randrange(len(MX_HOSTS))
    detail = {
        "result-type": rng.choice(RESULT_TYPES[policy_type]),
        "sending-mta-ip": _sending_ip(rng),
        "receiving-ip": MX_IPS[mx],
        "receiving-mx-hostname": MX_HOSTS[mx],
        "failed-session-count": rng.randrange(1, 40),
    }
    if rng.random() < 0.3:
        detail["receiving-mx-helo"] = MX_HOSTS[mx]
    if rng.random() < 0.2:
        detail["failure-reason-code"] = rng.choice(["X509_V_ERR_CERT_HAS_EXPIRED", "421"])
    return detail


def _policy(rng: random.Random, policy_type: str, details: int) -> dict:
    policy: dict = {"policy-type": policy_type, "policy-domain": DOMAIN}
    if policy_type == "sts":
        mxs = MX_HOSTS[: rng.randrange(1, 4)]
        mode = rng.choice(["enforce", "testing"])
        policy["policy-string"] = ["version: STSv1", f"mode: {mode}", "max_age: 604800"] + [
            f"mx: {mx}" for mx in mxs
        ]
        policy["mx-host"] = mxs
    elif policy_type == "tlsa":
        policy["policy-domain"] = MX_HOSTS[0]
        policy["policy-string"] = [f"3 1 1 {rng.getrandbits(256):064X}"]
    failures = [_detail(rng, policy_type) for _ in range(details)]
    failed = sum(f["failed-session-count"] for f in failures)
    entry: dict = {
        "policy": policy,
        "summary": {
            "total-successful-session-count": rng.randrange(1, 5000),
            "total-failure-session-count": failed,
        },
    }
    if failures:
        entry["failure-details"] = failures
    return entry


def _policy_types(rng: random.Random, count: int) -> list[str]:
    """Google-like: mostly sts, the domain's policy changing during the day."""
    first = rng.choice(["sts", "sts", "tlsa"])
    return [first] + [rng.choice(["sts", "tlsa", "no-policy-found"]) for _ in range(count - 1)]


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def report_json(rng: random.Random, case: Case, serial: int) -> dict:
    org, _submitter, contact = SENDERS[serial % len(SENDERS)]
    start = LAST_DAY - timedelta(days=serial % DAYS)
    types = _policy_types(rng, case.policies)
    # Failure details on the policies that can fail; no-policy-found ones get none.
    failing = [i for i, t in enumerate(types) if t != "no-policy-found"] or [0]
    counts = dict(zip(failing, _split(case.details, len(failing)), strict=True))
    return {
        "organization-name": org,
        "date-range": {
            "start-datetime": f"{start:%Y-%m-%dT00:00:00Z}",
            "end-datetime": f"{start:%Y-%m-%dT23:59:59Z}",
        },
        "contact-info": contact,
        "report-id": f"{start:%Y-%m-%dT00:00:00Z}_{rng.getrandbits(64):016x}_{DOMAIN}",
        "policies": [_policy(rng, t, counts.get(i, 0)) for i, t in enumerate(types)],
    }


def expected_of(report: dict) -> Expected:
    details = [d for p in report["policies"] for d in p.get("failure-details", [])]
    return Expected(
        reports=1,
        policies=len(report["policies"]),
        details=len(details),
        successful=sum(p["summary"]["total-successful-session-count"] for p in report["policies"]),
        failed=sum(p["summary"]["total-failure-session-count"] for p in report["policies"]),
        failed_sessions=sum(d["failed-session-count"] for d in details),
    )


def email_bytes(report: dict, serial: int) -> bytes:
    """The report as Google mails it: headers, a text part, the gzip attachment."""
    org = next(s for s in SENDERS if s[0] == report["organization-name"])
    submitter = org[1]
    start = datetime.fromisoformat(report["date-range"]["start-datetime"])
    end = datetime.fromisoformat(report["date-range"]["end-datetime"])
    name = f"{submitter}!{DOMAIN}!{int(start.timestamp())}!{int(end.timestamp())}!001.json.gz"
    payload = gzip.compress(json.dumps(report, separators=(",", ":")).encode(), mtime=0)
    body = base64.encodebytes(payload).decode().replace("\n", "\r\n")
    boundary = f"0000000000{serial:08x}{len(payload):06x}"
    sent = end + timedelta(hours=11, seconds=serial % 3600)
    lines = [
        "MIME-Version: 1.0",
        f"Date: {sent:%a, %d %b %Y %H:%M:%S +0000}",
        f"TLS-Report-Domain: {DOMAIN}",
        f"TLS-Report-Submitter: {submitter}",
        f"Message-ID: <{serial:08x}.{len(payload):x}.tls@{submitter}>",
        f"Subject: Report Domain: {DOMAIN} Submitter: {submitter} "
        f"Report-ID: <{report['report-id']}@{submitter}>",
        f"From: noreply-smtp-tls-reporting@{submitter}",
        f"To: {INBOUND}",
        f'Content-Type: multipart/report; boundary="{boundary}"; report-type=tlsrpt',
        "",
        f"--{boundary}",
        'Content-Type: text/plain; charset="UTF-8"; format=flowed; delsp=yes',
        "",
        f"This is an aggregate TLS report from {submitter}",
        "",
        f"--{boundary}",
        "Content-Type: application/tlsrpt+gzip; ",
        f'\tname="{name}"',
        "Content-Disposition: attachment; ",
        f'\tfilename="{name}"',
        "Content-Transfer-Encoding: base64",
        "",
        body.rstrip("\r\n"),
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(lines).encode()


def generate(case: Case, count: int, seed: int = 8460) -> tuple[list[bytes], Expected]:
    """``count`` messages of ``case`` and what they add up to; same seed, same bytes."""
    rng = random.Random(f"{seed}-{case.name}")
    messages: list[bytes] = []
    total = Expected()
    for serial in range(count):
        report = report_json(rng, case, serial)
        messages.append(email_bytes(report, serial))
        total.add(expected_of(report))
    return messages, total


def write_dir(folder: Path, messages: list[bytes]) -> None:
    """One ``NNNNNN.eml`` per message, for workers in other processes and venvs."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(messages):
        (folder / f"{i:06d}.eml").write_bytes(data)


def read_dir(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(folder.glob("*.eml"))]
