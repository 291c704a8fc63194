"""Ingest benchmark: parse-only against parsedmarc, and end to end through Celery workers.

``python bench/ingest.py [--quick] [--profile]`` generates typical (2 policies, 3 failure
details) and large (5 policies, 2,000 failure details) reports as Google-shaped e-mails,
then measures, in one process and in two:

* parse only: reports/s of ``reports.tlsrpt.extract``, of the baseline
  ``parsedmarc.parse_report_email`` (in ``bench/.venv-baseline``, made here if missing)
  and of the floor: inflating each message's gzip attachment and decoding its JSON with
  msgspec, the least any parser must do; the three alternate run by run and each
  figure is its best run, so their ratios hold on a busy machine;
* end to end: reports/s from messages woken as the doors wake them to every report's rows and
  rollups committed in PostgreSQL, with ``celery worker -c 1`` and ``-c 2``.

It prints a table against the targets, writes ``var/bench/ingest.json``, and when a
target is missed (or with ``--profile``) shows where the time goes.
"""

import argparse
import email
import json
import os
import platform
import subprocess
import sys
import tempfile
import zlib
from dataclasses import asdict
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import e2e  # noqa: E402
from bench.messages import LARGE, TYPICAL, Case, Expected, generate, write_dir  # noqa: E402
from bench.parsetime import best_of, throughput  # noqa: E402
from bench.report import print_tables, profile_if_needed  # noqa: E402
from reports.tlsrpt import extract  # noqa: E402

BENCH = ROOT / "bench"
BASELINE_VENV = BENCH / ".venv-baseline"
BASELINE_REQUIREMENTS = BENCH / "requirements-baseline.txt"
OUTPUT = ROOT / "var" / "bench" / "ingest.json"
PROCESSES = (1, 2)
# (minimum ours/parsedmarc parse ratio, minimum end-to-end reports/s with 2 workers)
TARGETS = {"typical": (5.0, 1500.0), "large": (2.5, 40.0)}
# Minimum ours/floor parse ratio (issue 19: at most twice the floor's time).
FLOOR_TARGETS = {"large": 0.5}
SIZES = {"full": {"typical": 3000, "large": 200}, "quick": {"typical": 400, "large": 30}}


def baseline_python() -> Path:
    """The baseline venv's python, (re)made when the pinned requirements changed."""
    python = BASELINE_VENV / "bin" / "python"
    stamp = BASELINE_VENV / ".installed"
    wanted = BASELINE_REQUIREMENTS.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"Creating {BASELINE_VENV.relative_to(ROOT)} ({wanted.strip().splitlines()[-1]})")
    subprocess.run([sys.executable, "-m", "venv", "--clear", BASELINE_VENV], check=True)
    pip: list[str | Path] = [python, "-m", "pip", "install", "-q", "-r", BASELINE_REQUIREMENTS]
    subprocess.run(pip, check=True)
    stamp.write_text(wanted)
    return python


def summary(messages: list[bytes]) -> dict:
    """What our parser finds in the messages, summed like ``messages.Expected``."""
    total = Expected()
    for data in messages:
        for found in extract(data).reports:
            policies = found.report.policies
            details = [d for p in policies for d in p.failure_details]
            total.add(
                Expected(
                    reports=1,
                    policies=len(policies),
                    details=len(details),
                    successful=sum(p.successful for p in policies),
                    failed=sum(p.failed for p in policies),
                    failed_sessions=sum(d.failed_session_count for d in details),
                )
            )
    return asdict(total)


_JSON = msgspec.json.Decoder()


def floor(payload: bytes) -> object:
    """The least a parser of these messages does: inflate the report, decode its JSON in C."""
    return _JSON.decode(zlib.decompress(payload, 31))


def attachments(messages: list[bytes]) -> list[bytes]:
    """Each message's gzip attachment as sent: the floor's input, taken out before timing."""
    found = []
    for data in messages:
        parts = email.message_from_bytes(data).walk()
        part = next(p for p in parts if p.get_content_type() == "application/tlsrpt+gzip")
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found.append(payload)
    return found


def parse_baseline(python: Path, folder: Path, runs: int) -> dict:
    cmd: list[str | Path] = [python, BENCH / "baseline_parsedmarc.py", folder, "--runs", str(runs)]
    cmd += ["--processes", *map(str, PROCESSES)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=BENCH).stdout
    return json.loads(out)


def parse_case(case: Case, messages: list[bytes], expected: Expected, runs: int) -> dict:
    """Ours, parsedmarc and the floor, one run of each in turn: load falls on all three."""
    python = baseline_python()
    payloads = attachments(messages)
    rounds: dict[str, list[list[dict]]] = {"ours": [], "parsedmarc": [], "floor": []}
    with tempfile.TemporaryDirectory(prefix=f"bench-{case.name}-") as tmp:
        write_dir(Path(tmp), messages)
        for _ in range(runs):
            baseline = parse_baseline(python, Path(tmp), 1)
            rounds["parsedmarc"].append(baseline["throughput"])
            for name, parse, data in (("ours", extract, messages), ("floor", floor, payloads)):
                rounds[name].append(
                    [throughput(parse, data, processes=p, runs=1) for p in PROCESSES]
                )
    baseline["throughput"] = best_of(rounds["parsedmarc"])
    ours = {"parsed": summary(messages), "throughput": best_of(rounds["ours"])}
    for who, result in (("ours", ours), ("parsedmarc", baseline)):
        if result["parsed"] != asdict(expected):
            sys.exit(f"{who} parsed {result['parsed']}, expected {asdict(expected)}")
    if baseline["network_attempts"]:
        sys.exit(f"parsedmarc tried the network: {baseline['network_attempts']}")
    return {"ours": ours, "parsedmarc": baseline, "floor": {"throughput": best_of(rounds["floor"])}}


def end_to_end(messages: list[bytes], expected: Expected, runs: int) -> list[dict]:
    from bench.e2e_db import runs as timed_runs

    results = []
    for processes in PROCESSES:
        worker = e2e.Worker(processes)
        try:
            worker.wait_ready()
            results.append(timed_runs(worker, messages, expected, runs))
        finally:
            worker.stop()
    return results


def measure(cases: dict, runs: int, only: str | None) -> dict:
    """Every figure for every case: parse only, then end to end (Django set up last)."""
    results: dict[str, dict] = {case.name: {} for case in cases}
    if only != "e2e":
        for case, (messages, expected) in cases.items():
            print(f"Parse only, {case.name}...", flush=True)
            results[case.name] = parse_case(case, messages, expected, runs)
    if only != "parse":
        e2e.prepare()
        for case, (messages, expected) in cases.items():
            print(f"End to end, {case.name}...", flush=True)
            results[case.name]["end_to_end"] = end_to_end(messages, expected, runs)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, smaller runs")
    parser.add_argument("--runs", type=int, help="timed runs per figure (default 3, quick 1)")
    parser.add_argument("--only", choices=["parse", "e2e"], help="measure only this part")
    parser.add_argument("--profile", action="store_true", help="profile even if targets pass")
    args = parser.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    sizes = SIZES["quick" if args.quick else "full"]
    cases = {case: generate(case, sizes[case.name]) for case in (TYPICAL, LARGE)}
    for case, (messages, expected) in cases.items():
        print(f"{case.name}: {len(messages)} messages, {asdict(expected)}", flush=True)
    load_before = os.getloadavg()
    report = {"runs": runs, "cases": measure(cases, runs, args.only)}
    report["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    report["passed"] = print_tables(report, TARGETS, FLOOR_TARGETS)
    report["profile"] = profile_if_needed(report, cases, TARGETS, force=args.profile)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(report, indent=2))
    print(f"\nFigures written to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
