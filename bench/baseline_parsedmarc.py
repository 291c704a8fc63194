"""The baseline: ``parsedmarc.parse_report_email`` timed on our generated messages.

Runs under ``bench/.venv-baseline/bin/python`` (parsedmarc is never a dependency of the
project): ``baseline_parsedmarc.py DIR --runs 3 --processes 1 2`` prints one JSON object
with parsedmarc's version, what it parsed (summed like ``messages.Expected``) and its
reports per second. Every socket is refused while it runs: ``offline=True`` must suffice,
and a lookup it still tried would be counted and reported, not silently made.
"""

import argparse
import json
import socket
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import NoReturn

import parsedmarc

# Imported by its path from the repository's root, as the other benchmarks are.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.messages import read_dir
from bench.parsetime import throughput

BLOCKED: list[str] = []


def _refuse(name: str) -> Callable[..., NoReturn]:
    def refused(*args: object, **kwargs: object) -> NoReturn:
        BLOCKED.append(f"{name}{args[:2]}")
        raise OSError(f"network disabled in the benchmark: {name}")

    return refused


def block_network() -> None:
    """No DNS, no connections: the benchmark must not leave the machine."""
    socket.getaddrinfo = _refuse("getaddrinfo")
    socket.gethostbyname = _refuse("gethostbyname")
    socket.create_connection = _refuse("create_connection")
    # Replacing the methods is the point: every socket of parsedmarc's refuses.
    socket.socket.connect = _refuse("connect")  # type: ignore[method-assign]
    socket.socket.sendto = _refuse("sendto")  # type: ignore[method-assign]


def parse(data: bytes) -> dict:
    return parsedmarc.parse_report_email(data, offline=True, nameservers=[], dns_timeout=0.01)


def summary(messages: list[bytes]) -> dict:
    """What parsedmarc found in every message, summed; raises if one is not a TLS report."""
    totals = dict.fromkeys(
        ("reports", "policies", "details", "successful", "failed", "failed_sessions"), 0
    )
    for data in messages:
        result = parse(data)
        if result["report_type"] != "smtp_tls":
            raise SystemExit(f"parsedmarc read a {result['report_type']} report, not smtp_tls")
        policies = result["report"]["policies"]
        details = [d for p in policies for d in p.get("failure_details", [])]
        totals["reports"] += 1
        totals["policies"] += len(policies)
        totals["details"] += len(details)
        totals["successful"] += sum(p["successful_session_count"] for p in policies)
        totals["failed"] += sum(p["failed_session_count"] for p in policies)
        totals["failed_sessions"] += sum(d["failed_session_count"] for d in details)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    block_network()
    messages = read_dir(args.folder)
    result = {
        "version": version("parsedmarc"),
        "parsed": summary(messages),
        "throughput": [
            throughput(parse, messages, processes=p, runs=args.runs) for p in args.processes
        ],
        "network_attempts": BLOCKED[:10],
    }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
