"""Time a parse function over messages in one process or several (standard library only).

Shared by our parser and the parsedmarc worker, which runs in its own venv, so that both
are timed the same way: worker processes are forked, load their share of the messages
and parse one to warm up before the clock starts; a run is the wall time from telling
every worker to go until the last one is done. The figure is the median of the runs, or
with ``best_of`` the fastest of runs made in turn with other parsers'. Each run also
records the CPU time its workers spent parsing, which other work on the machine
disturbs far less than the wall time.
"""

import cProfile
import io
import multiprocessing
import pstats
import re
import statistics
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

Parse = Callable[[bytes], object]


def _worker(conn: Connection, parse: Parse, messages: list[bytes]) -> None:
    parse(messages[0])
    conn.send("ready")
    while conn.recv() == "go":
        # Real messages each have their own MIME boundary, which the email package turns
        # into a regex: start every run with re's cache empty, as a worker would see them.
        re.purge()
        started = time.process_time()
        for data in messages:
            parse(data)
        conn.send(time.process_time() - started)
    conn.close()


def throughput(parse: Parse, messages: list[bytes], *, processes: int, runs: int) -> dict:
    """Median reports per second of ``parse`` over ``messages`` split across processes."""
    context = multiprocessing.get_context("fork")
    pipes, workers = [], []
    for k in range(processes):
        parent, child = context.Pipe()
        worker = context.Process(target=_worker, args=(child, parse, messages[k::processes]))
        worker.start()
        pipes.append(parent)
        workers.append(worker)
    for pipe in pipes:
        pipe.recv()
    timed = [_one_run(pipes) for _ in range(runs)]
    seconds, cpu = [wall for wall, _ in timed], [used for _, used in timed]
    for pipe in pipes:
        pipe.send("stop")
    for worker in workers:
        worker.join()
    median = statistics.median(seconds)
    return {
        "processes": processes,
        "messages": len(messages),
        "runs_s": [round(s, 4) for s in seconds],
        "per_s": round(len(messages) / median, 1),
        "cpu_s": [round(s, 4) for s in cpu],
    }


def best_of(rounds: list[list[dict]]) -> list[dict]:
    """Per process count, ``throughput``'s figures of several rounds merged: the best run.

    Runs alternated with other parsers' and taken at their fastest compare fairly on a
    shared machine: other work only ever slows a run down.
    """
    merged = []
    for runs in zip(*rounds, strict=True):
        seconds = [s for run in runs for s in run["runs_s"]]
        cpu = [s for run in runs for s in run["cpu_s"]]
        best = {"per_s": round(runs[0]["messages"] / min(seconds), 1), "runs_s": seconds}
        merged.append(runs[0] | best | {"cpu_s": cpu, "cpu_best_s": min(cpu)})
    return merged


def _one_run(pipes: list[Connection]) -> tuple[float, float]:
    """Wall time of one run, and the CPU time its workers spent parsing."""
    start = time.perf_counter()
    for pipe in pipes:
        pipe.send("go")
    cpu = sum(pipe.recv() for pipe in pipes)
    return time.perf_counter() - start, cpu


def hot_spots(parse: Parse, messages: list[bytes], top: int = 15) -> str:
    """cProfile's functions with the most time of their own while parsing ``messages``."""
    profiler = cProfile.Profile()
    profiler.enable()
    for data in messages:
        parse(data)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(top)
    return out.getvalue()
