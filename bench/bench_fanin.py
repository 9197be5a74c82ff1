"""Fan-in and chain benchmark: luisy.build against a hand-written Prefect flow doing the same.

One process, one temporary Prefect server. Each side builds ``N`` trivial tasks that each write
a tiny pickle:

- ``--shape fanin``: N leaves and one root task that waits for all of them. luisy: ``Leaf(i)``
  x N (``self.write(...)``) under a ``WrapperTask`` root; prefect: N leaf tasks submitted, then
  the root with the leaves as ``wait_for``;
- ``--shape chain``: N tasks, each needing the one before (what measures the scheduler's
  latency from one task's end to the next one's start). luisy: ``Chain(k)`` requires
  ``Chain(k - 1)``; prefect: the N tasks submitted at once, each with the previous one's future
  as ``wait_for``, so Prefect's own threads hand over from one to the next.

luisy runs ``luisy.build(root, workers=W)`` into a fresh working dir; prefect a flow with the
same ThreadPoolTaskRunner(max_workers=W) and the same task/flow settings luisy's runner uses
(NO_CACHE, persist_result=False, log_prints, named task runs).

A small warm-up run of each comes first (imports, server, fingerprints); the rounds alternate
which side goes first; the medians are compared. Exit status 1 when luisy/prefect exceeds the
target ratio.

Prefect's flow-run heartbeat thread sleeps in 1 s steps and is joined when the flow run ends,
so every flow run here lasts a whole number of seconds plus ~0.1 s: a 5.05 s and a 4.95 s run
come out as 6.1 s and 5.1 s, a 20% "difference" made of rounding. Both sides therefore run with
heartbeats off (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` = None); ``--heartbeats`` keeps Prefect's
default for both.

    .venv/bin/python bench/bench_fanin.py [--shape fanin] [--tasks 1000] [--workers 8]
    .venv/bin/python bench/bench_fanin.py --shape chain --tasks 200 --workers 1 --target 1.1
"""
from __future__ import annotations

import argparse
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from _worker import asset_event, heartbeats

import luisy
from luisy.testing.server import PrefectServer

PAYLOAD = {"value": 1}


@luisy.project_name("bench")
@luisy.pickle_output
class Leaf(luisy.Task):
    i = luisy.IntParameter()

    def run(self) -> None:
        self.write(PAYLOAD)


@luisy.project_name("bench")
class FanIn(luisy.WrapperTask):
    n = luisy.IntParameter()

    def requires(self) -> list[Leaf]:
        return [Leaf(i=i) for i in range(self.n)]


@luisy.project_name("bench")
@luisy.pickle_output
class Chain(luisy.Task):
    k = luisy.IntParameter()

    def requires(self) -> list[Chain]:
        return [Chain(k=self.k - 1)] if self.k > 0 else []

    def run(self) -> None:
        self.write(PAYLOAD)


#: per shape: the luisy root for n tasks, and how many tasks it completes
ROOTS: dict[str, Callable[[int], tuple[luisy.Task, int]]] = {
    "fanin": lambda n: (FanIn(n=n), n + 1),
    "chain": lambda n: (Chain(k=n - 1), n),
}


# ------------------------------------------------------------------------- prefect server
#: same for both sides: no INFO lines on the console or shipped to the API
QUIET_LOGS = {"PREFECT_LOGGING_LEVEL": "WARNING"}


def _settle(server: PrefectServer, completed_task_runs: int) -> None:
    """Between runs, not timed: let client and server finish the previous run's work."""
    if not server.settle(completed_task_runs, timeout=600):
        raise RuntimeError(f"server recorded fewer than {completed_task_runs} completed task "
                           "runs or stayed busy for 600 s")


# ------------------------------------------------------------------------------ the sides
def run_luisy(shape: str, n: int, workers: int, folder: str) -> tuple[float, str]:
    """Seconds of ``luisy.build``, and where they went (from its progress events)."""
    first_start: list[float] = []
    last_done: list[float] = []

    def progress(event: str, step: object, seconds: float) -> None:
        now = time.perf_counter()
        if event == "start" and not first_start:
            first_start.append(now)
        elif event == "done":
            last_done[:] = [now]

    root, tasks = ROOTS[shape](n)
    start = time.perf_counter()
    summary = luisy.build(root, workers=workers, working_dir=folder, progress=progress)
    end = time.perf_counter()
    if not summary.ok or len(summary.completed) != tasks:
        raise RuntimeError(f"luisy build did not complete every task: {summary}")
    phases = (f"plan+flow start {first_start[0] - start:.2f}s, "
              f"tasks {last_done[0] - first_start[0]:.2f}s, "
              f"flow end {end - last_done[0]:.2f}s")
    return end - start, phases


def make_prefect_baseline(shape: str, workers: int,
                          assets: bool = False) -> Callable[[int, str], float]:
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.futures import wait
    from prefect.task_runners import ThreadPoolTaskRunner

    # the settings luisy's runner gives each task class / the flow (see luisy.runner)
    task_opts: dict[str, Any] = dict(retries=0, retry_delay_seconds=0, timeout_seconds=None,
                                     tags=[], cache_policy=NO_CACHE, persist_result=False,
                                     log_prints=True)

    def materialised(path: str, name: str, inputs: list[str]) -> None:
        if assets:
            asset_event(path, name, inputs)

    @task(name="Leaf", task_run_name="Leaf(i={i})", **task_opts)
    def leaf(i: int, path: str) -> None:
        with open(path, "wb") as fh:
            pickle.dump(PAYLOAD, fh, protocol=pickle.HIGHEST_PROTOCOL)
        materialised(path, f"Leaf(i={i})", [])

    @task(name="FanIn", task_run_name="FanIn(n={n})", **task_opts)
    def root(n: int) -> None:
        return None

    @task(name="Chain", task_run_name="Chain(k={k})", **task_opts)
    def link(k: int, path: str) -> None:
        with open(path, "wb") as fh:
            pickle.dump(PAYLOAD, fh, protocol=pickle.HIGHEST_PROTOCOL)
        before = os.path.join(os.path.dirname(path), f"Chain_k={k - 1}.pkl")
        materialised(path, f"Chain(k={k})", [before] if k else [])

    def run(n: int, folder: str) -> tuple[float, str]:
        @flow(name="FanInBaseline", flow_run_name=f"FanIn(n={n})",
              task_runner=ThreadPoolTaskRunner(max_workers=workers), persist_result=False,
              validate_parameters=False, log_prints=False)
        def fan_in() -> None:
            marks.append(time.perf_counter())
            futures = [leaf.submit(i=i, path=os.path.join(folder, f"Leaf_i={i}.pkl"))
                       for i in range(n)]
            wait(futures)
            root.submit(n=n, wait_for=futures).wait()
            marks.append(time.perf_counter())

        @flow(name="ChainBaseline", flow_run_name=f"Chain(k={n - 1})",
              task_runner=ThreadPoolTaskRunner(max_workers=workers), persist_result=False,
              validate_parameters=False, log_prints=False)
        def chain() -> None:
            marks.append(time.perf_counter())
            previous: list = []
            for k in range(n):
                future = link.submit(k=k, path=os.path.join(folder, f"Chain_k={k}.pkl"),
                                     wait_for=previous)
                previous = [future]
            previous[0].wait()
            marks.append(time.perf_counter())

        marks: list[float] = []
        start = time.perf_counter()
        state = (fan_in if shape == "fanin" else chain)(return_state=True)
        end = time.perf_counter()
        elapsed = end - start
        written = sum(1 for name in os.listdir(folder) if name.endswith(".pkl"))
        if not state.is_completed() or written != n:
            raise RuntimeError(f"prefect baseline failed: {state}, {written} files")
        return elapsed, (f"flow start {marks[0] - start:.2f}s, tasks {marks[1] - marks[0]:.2f}s, "
                         f"flow end {end - marks[1]:.2f}s")

    return run


# ---------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(ROOTS), default="fanin")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup-tasks", type=int, default=20)
    parser.add_argument("--target", type=float, default=1.2)
    parser.add_argument("--heartbeats", action="store_true",
                        help="keep Prefect's flow-run heartbeats on for both sides")
    parser.add_argument("--assets", action="store_true",
                        help="the hand-written tasks send the asset event luisy sends for "
                             "each output: the difference left is luisy's own")
    args = parser.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="luisy-bench-fanin-")
    server = PrefectServer(home=os.path.join(tmp, "prefect-home"), extra_env=QUIET_LOGS)
    os.makedirs(server.home)
    os.environ.update({**server.env, **QUIET_LOGS})  # before prefect is imported
    counter = iter(range(10**6))
    recorded = 0  # completed task runs the server should hold

    def fresh_dir() -> str:
        path = os.path.join(tmp, f"run-{next(counter)}")
        os.makedirs(path)
        return path

    try:
        with server, heartbeats(args.heartbeats):
            baseline = make_prefect_baseline(args.shape, args.workers, args.assets)
            extra = 1 if args.shape == "fanin" else 0  # the root task run
            sides: dict[str, Callable[[int], tuple[float, str]]] = {
                "luisy": lambda n: run_luisy(args.shape, n, args.workers, fresh_dir()),
                "prefect": lambda n: baseline(n, fresh_dir()),
            }
            for name, side in sides.items():
                seconds, _ = side(args.warmup_tasks)
                print(f"warm-up {name}: {args.warmup_tasks} tasks in {seconds:.2f}s",
                      flush=True)
                recorded += args.warmup_tasks + extra
                _settle(server, recorded)
            times: dict[str, list[float]] = {"luisy": [], "prefect": []}
            cpu_times: dict[str, list[float]] = {"luisy": [], "prefect": []}
            for rnd in range(args.rounds):
                order = ["luisy", "prefect"] if rnd % 2 == 0 else ["prefect", "luisy"]
                for name in order:
                    cpu = time.process_time()
                    seconds, phases = sides[name](args.tasks)
                    cpu = time.process_time() - cpu
                    times[name].append(seconds)
                    cpu_times[name].append(cpu)
                    print(f"  {name}: {seconds:.2f}s ({phases}; client cpu {cpu:.2f}s)",
                          flush=True)
                    recorded += args.tasks + extra
                    _settle(server, recorded)
                print(f"round {rnd + 1}: luisy {times['luisy'][-1]:.2f}s, "
                      f"prefect {times['prefect'][-1]:.2f}s, "
                      f"ratio {times['luisy'][-1] / times['prefect'][-1]:.2f}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    luisy_s = statistics.median(times["luisy"])
    prefect_s = statistics.median(times["prefect"])
    ratio = luisy_s / prefect_s
    print(f"client cpu (median): luisy {statistics.median(cpu_times['luisy']):.2f}s, "
          f"prefect {statistics.median(cpu_times['prefect']):.2f}s")
    print(f"{args.shape} {args.tasks}: luisy {luisy_s:.1f}s, prefect {prefect_s:.1f}s, "
          f"ratio {ratio:.2f} (target <= {args.target}; medians of {args.rounds} rounds, "
          f"workers={args.workers}, heartbeats {'on' if args.heartbeats else 'off'}, "
          f"baseline asset events {'on' if args.assets else 'off'})")
    return 0 if ratio <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
