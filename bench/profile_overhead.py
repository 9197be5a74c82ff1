"""Where luisy 2's time per task goes, next to Prefect's own cost of a task run.

    .venv/bin/python bench/profile_overhead.py [--tasks 1000] [--rounds 3] [--no-py-spy]

On one Prefect server, each a fresh process like ``bench/run_all.py`` (same worker, same
settling between runs), the fan-in first build of ``--tasks`` trivial tasks:

- Prefect alone: ``n`` no-op task runs submitted in one flow; the hand-written flow of
  ``run_all.py`` (one task run per pickle);
- luisy 2 as it is, then with one of its costs switched off at a time by a monkeypatch in
  ``bench/_worker.py`` (nothing in src/ changes): the per-task info log line, the flow run's
  artifacts, submitting one task at a time (``submit_all``
  submits every ready task, as the hand-written flow does); then all three off; then also
  Prefect's console lines quieted (what the luisy CLI does), next to the hand-written flow with
  the same quieting.

Reports medians: time in the process, per task, client CPU and server CPU per task. Then (unless
``--no-py-spy``) samples one plain luisy 2 build with py-spy and sorts its samples into cost
categories (luisy planning, scheduler, per-task log line, the task's own work, Prefect's task
engine, console logging, API logs, events, ...).
"""
from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import run_all  # noqa: E402

VARIANTS: list[tuple[str, str, list[str]]] = [
    ("Prefect: bare no-op task runs (submitted)", "bare", []),
    ("Prefect: hand-written flow", "flow", []),
    ("luisy 2", "luisy2", []),
    ("luisy 2 without the per-task log line", "luisy2", ["no_task_log"]),
    ("luisy 2 without artifacts", "luisy2", ["no_artifacts"]),
    ("luisy 2 submitting all ready tasks", "luisy2", ["submit_all"]),
    ("luisy 2 with all four", "luisy2",
     ["no_task_log", "no_artifacts", "submit_all"]),
    ("luisy 2 with all four + quiet console", "luisy2",
     ["no_task_log", "no_artifacts", "submit_all", "quiet_console"]),
    ("Prefect: hand-written flow + quiet console", "flow", ["quiet_console"]),
]

#: py-spy sample categories: first match over the whole stack wins
CATEGORIES: list[tuple[str, str]] = [
    ("luisy: planning (graph, fingerprints, keys)", r"make_plan"),
    ("luisy: artifacts", r"publish_plan|publish_outputs"),
    ("luisy: hash store flush", r"HashStores?\.flush"),
    ("luisy: per-task info log line", r"(_Scheduler\.execute|_run_one).*logging/__init__"),
    ("task body: run() and its write", r"benchpipe/"),
    ("luisy: task wrapper (output check, key record)",
     r"_Scheduler\.execute|run_unit|_run_one"),
    ("Prefect: console log handler", r"PrefectConsoleHandler"),
    ("Prefect: API log handler / worker", r"APILogHandler|APILogWorker|emit_api_log"),
    ("Prefect: events", r"EventsWorker|emit_event|events/clients|events/worker"),
    ("luisy scheduler -> Prefect submit", r"_Scheduler\.submit"),
    ("Prefect: task engine (state changes, contexts)", r"task_engine"),
    ("luisy: scheduler (main thread)", r"_Scheduler"),
    ("Prefect: flow run heartbeats", r"heartbeat"),
    ("Prefect: event-loop and worker threads (mostly waiting on I/O)",
     r"EventLoopThread|WorkerThread\._run_until_shutdown|asyncio/"),
    ("Prefect: flow engine / other", r"prefect/"),
]


def spy_categories(path: str) -> list[tuple[str, int, float]]:
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    with open(path) as fh:
        for line in fh:
            stack, _, n = line.rstrip().rpartition(" ")
            if not stack or "_find_and_load" in stack:  # imports: before the clock
                continue
            total += int(n)
            for name, pattern in CATEGORIES:
                if re.search(pattern, stack):
                    counts[name] += int(n)
                    break
            else:
                counts["other"] += int(n)
    return [(name, n, n / total) for name, n in counts.most_common()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=("fanin", "dag"), default="fanin",
                        help="fan-in of --tasks leaves, or the 10-level DAG of --tasks tasks")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-py-spy", action="store_true")
    args = parser.parse_args(argv)
    n = args.tasks
    if args.shape == "fanin":
        luisy_spec = {"module": "benchpipe.fanin", "cls": "FanIn", "params": {"n": n}}
        hand, wrapper = run_all.fanin_tasks(n), "FanIn"
    else:
        width = n // run_all.pipelines.LEVELS
        n = width * run_all.pipelines.LEVELS
        luisy_spec = {"module": "benchpipe.dag", "cls": "DagRoot", "params": {"w": width}}
        hand, wrapper = run_all.pipelines.dag_tasks(width), "DagRoot"

    os.makedirs(run_all.WORK, exist_ok=True)
    root = os.path.join(run_all.WORK, "profile-project")
    shutil.rmtree(root, ignore_errors=True)
    srcs = {"luisy2": run_all.pipelines.write_project(root)}
    server = run_all.PrefectServer(home=os.path.join(run_all.WORK, "profile-prefect-home"))
    shutil.rmtree(server.home, ignore_errors=True)
    os.makedirs(server.home)
    bench_args = argparse.Namespace(l1_timeout=None)
    rows = []
    with server:
        bench = run_all.Bench(bench_args, srcs, server)
        bench.run("luisy2", "build", {"module": "benchpipe.fanin", "cls": "FanIn",
                                      "params": {"n": 10}}, bench.workdir("p-warm"), tag="warm")
        runs: dict[str, list[run_all.Run]] = {label: [] for label, _, _ in VARIANTS}
        for rnd in range(args.rounds):
            for label, kind, patches in VARIANTS:
                tag = f"p{rnd}-{label}"
                wd = bench.workdir("p-run")
                if kind == "bare":
                    run = bench.run("prefect", "bare", {"n": n, "mode": "submit"}, tag=tag)
                elif kind == "flow":
                    run = bench.run("prefect", "flow", {
                        "tasks": hand, "wrapper": wrapper, "outdir": wd,
                        "patches": patches}, tag=tag)
                else:
                    run = bench.run("luisy2", "build", {**luisy_spec, "patches": patches},
                                    wd, tag=tag)
                runs[label].append(run)
        spy_path = None
        if not args.no_py_spy:
            spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
            spy_path = os.path.join(bench.logs, f"luisy2-{args.shape}.pyspy.txt")
            bench.run("luisy2", "build", luisy_spec, bench.workdir("p-spy"),
                      tag="py-spy", wrap=[spy, "record", "--format", "raw", "--rate", "250",
                                          "--nonblocking", "-o", spy_path, "--"])

    base = None
    print(f"\n{args.shape} first build of {n} tasks (+ root), medians of {args.rounds} "
          "rounds\n")
    print("| variant | in process (s) | per task (ms) | vs luisy 2 (ms/task) | client CPU "
          "(ms/task) | server CPU (ms/task) |")
    print("|---|---|---|---|---|---|")
    for label, _, _ in VARIANTS:
        good = [r for r in runs[label] if r.seconds is not None]
        if not good:
            print(f"| {label} | failed | | | | |")
            continue
        sec = statistics.median(r.seconds for r in good)
        cpu = statistics.median(r.data["client_cpu"] for r in good)
        srv = statistics.median(r.data["server_cpu"] + r.data["server_cpu_after"]
                                for r in good)
        per = sec / (n + 1) * 1000
        if label == "luisy 2":
            base = per
        delta = f"{per - base:+.2f}" if base is not None and label != "luisy 2" else ""
        rows.append((label, sec, per, delta, cpu, srv))
        print(f"| {label} | {sec:.2f} | {per:.2f} | {delta} | {cpu / (n + 1) * 1000:.2f} | "
              f"{srv / (n + 1) * 1000:.2f} |")
    if spy_path and os.path.exists(spy_path):
        print(f"\npy-spy samples of one luisy 2 build ({spy_path}), all threads, imports "
              "excluded\n")
        print("| category | samples | share |")
        print("|---|---|---|")
        for name, count, share in spy_categories(spy_path):
            print(f"| {name} | {count} | {share:.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
