"""The ingest benchmark's tables, pass/fail against targets, and its profile section."""

from bench.messages import Case

PROFILE_SIZES = {"typical": (300, 300, 20), "large": (20, 10, 3)}  # breakdown, cProfile, SQL


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(
        c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print(_row(header, widths))
    print(_row(["-" * w for w in widths], widths))
    for row in rows:
        print(_row(row, widths))


def _verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def parse_rows(cases: dict, targets: dict, floor_targets: dict) -> tuple[list[list[str]], bool]:
    rows, passed = [], True
    for name, result in cases.items():
        if "ours" not in result:
            continue
        ours_runs, base_runs = result["ours"]["throughput"], result["parsedmarc"]["throughput"]
        floors = result.get("floor", {}).get("throughput") or [None] * len(ours_runs)
        for ours, base, floor in zip(ours_runs, base_runs, floors, strict=True):
            ratio = ours["per_s"] / base["per_s"]
            ok = ratio >= targets[name][0]
            floor_cells = ["-", "-", "-", "-"]
            if floor is not None:
                of_floor, floor_target = ours["per_s"] / floor["per_s"], floor_targets.get(name)
                ok &= floor_target is None or of_floor >= floor_target
                of_floor_cpu = floor["cpu_best_s"] / ours["cpu_best_s"]
                floor_cells = [
                    f"{floor['per_s']:,.0f}", f"{of_floor:.2f}x",
                    f">= {floor_target}x" if floor_target else "-", f"{of_floor_cpu:.2f}x",
                ]  # fmt: skip
            passed &= ok
            cpu = base["cpu_best_s"] / ours["cpu_best_s"] if "cpu_best_s" in base else None
            rows.append([
                name, str(ours["processes"]), f"{ours['per_s']:,.0f}", f"{base['per_s']:,.0f}",
                f"{ratio:.2f}x", f">= {targets[name][0]}x", f"{cpu:.2f}x" if cpu else "-",
                *floor_cells, _verdict(ok),
            ])  # fmt: skip
    return rows, passed


def e2e_rows(cases: dict, targets: dict) -> tuple[list[list[str]], bool]:
    rows, passed = [], True
    for name, result in cases.items():
        for run in result.get("end_to_end", []):
            target, verdict = "-", "(info)"
            if run["processes"] == 2:
                ok = run["per_s"] >= targets[name][1] and not run["errors"]
                passed &= ok
                target, verdict = f">= {targets[name][1]:,.0f}", _verdict(ok)
            check = "ok" if not run["errors"] else "; ".join(run["errors"][:3])
            rows.append([
                name, str(run["processes"]), f"{run['per_s']:,.1f}", target, verdict,
                f"{run['empty_tasks_per_s']:,.0f}", f"{run['store_per_s']:,.0f}", check,
            ])  # fmt: skip
    return rows, passed


def print_tables(report: dict, targets: dict, floor_targets: dict | None = None) -> bool:
    cases, runs = report["cases"], report["runs"]
    rows, parse_ok = parse_rows(cases, targets, floor_targets or {})
    if rows:
        version = next(iter(cases.values()))["parsedmarc"]["version"]
        _table(
            f"Parse only, reports/s (best of {runs} runs, the three in turn), baseline "
            f"parsedmarc {version}; floor: gzip inflate + msgspec.json.decode of the attachment",
            [
                "case", "procs", "ours/s", "parsedmarc/s", "ratio", "target", "(CPU time)",
                "floor/s", "ours/floor", "target", "(CPU time)", "result",
            ],
            rows,
        )  # fmt: skip
    rows, e2e_ok = e2e_rows(cases, targets)
    if rows:
        _table(
            "End to end, stored and woken -> rows and rollups committed, reports/s "
            f"(median of {runs})",
            [
                "case",
                "workers",
                "reports/s",
                "target",
                "result",
                "empty tasks/s",
                "store/s",
                "check",
            ],
            rows,
        )
    machine = report["machine"]
    print(f"\n{machine['cpus']} CPUs, load average before {machine['load_before'][0]:.2f}")
    return parse_ok and e2e_ok


def _parse_missed(result: dict, target: float) -> bool:
    pairs = zip(result["ours"]["throughput"], result["parsedmarc"]["throughput"], strict=True)
    return any(ours["per_s"] < target * base["per_s"] for ours, base in pairs)


def _e2e_missed(result: dict, target: float) -> bool:
    return any(r["per_s"] < target for r in result["end_to_end"] if r["processes"] == 2)


def profile_if_needed(report: dict, cases: dict, targets: dict, *, force: bool) -> dict:
    """Profile what missed its target (everything measured, with ``force``)."""
    found: dict[str, dict] = {}
    for case, (messages, _expected) in cases.items():
        result, (ratio, rate) = report["cases"][case.name], targets[case.name]
        if "ours" in result and (force or _parse_missed(result, ratio)):
            found.setdefault(case.name, {})["parse"] = _profile_parse(case, messages)
        if "end_to_end" in result and (force or _e2e_missed(result, rate)):
            found.setdefault(case.name, {})["end_to_end"] = _profile_e2e(case, messages, result)
    return found


def _profile_parse(case: Case, messages: list[bytes]) -> str:
    from bench.parsetime import hot_spots
    from reports.tlsrpt import extract

    count = PROFILE_SIZES[case.name][0]
    hot = hot_spots(extract, messages[:count])
    print(f"\n=== Parse only, {case.name}: cProfile of extract over {count} messages ===\n{hot}")
    return hot


def _profile_e2e(case: Case, messages: list[bytes], result: dict) -> dict:
    from bench import profiling  # Django must be set up first

    n_time, n_profile, n_sql = PROFILE_SIZES[case.name]
    split = profiling.breakdown(messages[:n_time])
    sql = profiling.queries(messages[:n_sql])
    one = next(r for r in result["end_to_end"] if r["processes"] == 1)
    split["sql_ms"] = sql["sql_ms"]
    split["python_ms"] = round(split["drain_ms"] - split["parse_ms"] - sql["sql_ms"], 3)
    split["worker_c1_ms"] = round(1000 / one["per_s"], 3)
    split["celery_and_rest_ms"] = round(split["worker_c1_ms"] - split["drain_ms"], 3)
    split["empty_task_c1_ms"] = round(1000 / one["empty_tasks_per_s"], 3)
    split |= profiling.connection_cost()
    _print_profile(case, split, sql)
    hot = profiling.hot_functions(messages[:n_profile])
    print(f"\ncProfile of the drain over {n_profile} messages:\n{hot}")
    return {"breakdown": split, "queries": sql, "cprofile": hot}


def _print_profile(case: Case, split: dict, sql: dict) -> None:
    print(f"\n=== End to end, {case.name}: where a message's time goes (ms per message) ===")
    print(
        f"in this process, no Celery: drain {split['drain_ms']}"
        f" = parse {split['parse_ms']} + SQL waits {split['sql_ms']}"
        f" + Django/Python {split['python_ms']}"
    )
    print(
        f"one worker process: {split['worker_c1_ms']} per report, so Celery and the rest add"
        f" {split['celery_and_rest_ms']}; a task on a missing message takes"
        f" {split['empty_task_c1_ms']}"
    )
    print(
        f"a new PostgreSQL connection costs {split['connect_ms']}; Celery's Django fixup opens"
        " one per task unless CELERY_DB_REUSE_MAX is set"
        f" (it is {split['celery_db_reuse_max']})"
    )
    print(f"\nSQL statements per message: {sql['statements_per_message']}")
    for row in sql["by_statement"]:
        print(f"  {row['per_message']:>6} x  {row['ms_per_message']:>8.3f} ms  {row['sql']}")
