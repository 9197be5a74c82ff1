"""A task runs once, however many builds of one working dir run at the same time.

The pipeline (``faults_support/fltpkg/conc.py``)::

    CLeaf(i=0..3) -> CMid(j=0..2) (CLeaf(j), CLeaf(j+1)) -> RootA (CMid 0, 1)
                                                          -> RootB (CMid 1, 2)

Every ``run()`` appends ``start <task> <monotonic ns> <pid>``, sleeps 80 ms and appends
``end <task> <ns> <pid>`` to ``<working_dir>/runs.log``. Builds are started together: driver
processes wait at a file barrier after their imports, threads at a ``threading.Barrier``. For
each trial (a fresh working dir): no two runs of one task overlap, every task ran exactly once
over all builds, every build ended ok, and a plan afterwards calls every task complete.
"""
from __future__ import annotations

import collections
import threading
import time
from pathlib import Path

import pytest
from faults_support import Workspace, complete

import luisy

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_server")]

ROOT_A, ROOT_B = "fltpkg.conc:RootA", "fltpkg.conc:RootB"
TASKS_A = {"CLeaf(i=0)", "CLeaf(i=1)", "CLeaf(i=2)", "CMid(j=0)", "CMid(j=1)", "RootA()"}
TASKS_B = {"CLeaf(i=1)", "CLeaf(i=2)", "CLeaf(i=3)", "CMid(j=1)", "CMid(j=2)", "RootB()"}
LOG_NAME = "runs.log"


def read_log(path: Path) -> list[tuple[str, str, int, int]]:
    """(event, task, ns, pid) per line of the run log."""
    events = []
    for line in path.read_text().splitlines() if path.exists() else []:
        event, rest = line.split(" ", 1)
        task, ns, pid = rest.rsplit(" ", 2)
        events.append((event, task, int(ns), int(pid)))
    return events


def log_problems(path: Path, expected: set[str]) -> list[str]:
    """Overlapping runs of one task, and tasks not run exactly once, per the run log."""
    events = read_log(path)
    problems = []
    by_task: dict[str, list[tuple[int, str, int]]] = collections.defaultdict(list)
    for event, task, ns, pid in events:
        by_task[task].append((ns, event, pid))
    for task, rows in sorted(by_task.items()):
        open_runs, worst = 0, 0
        for _ns, event, _pid in sorted(rows):  # at equal times an "end" sorts before a "start"
            open_runs += 1 if event == "start" else -1
            worst = max(worst, open_runs)
        if worst > 1:
            problems.append(f"{task}: {worst} runs at once "
                            f"(pids {sorted({pid for _, _, pid in rows})})")
    starts = collections.Counter(task for event, task, _, _ in events if event == "start")
    ends = collections.Counter(task for event, task, _, _ in events if event == "end")
    for task in sorted(expected | set(starts)):
        if starts[task] != 1 or ends[task] != 1:
            problems.append(f"{task}: run() started {starts[task]}x, ended {ends[task]}x "
                            f"(expected once)")
    return problems


def process_trial(ws: Workspace, roots: list[str]) -> list[str]:
    """Builds of ``roots`` in as many processes, started together; what went wrong."""
    barrier = ws.root / "barrier"
    drivers = [ws.start_build(root, barrier=barrier, parties=len(roots)) for root in roots]
    results = [driver.finish(timeout=150) for driver in drivers]
    problems = [f"build {i} of {root} failed:\n{result}"
                for i, (root, result) in enumerate(zip(roots, results, strict=True))
                if result.code != 0 or not result.summary.get("ok")]
    expected = set().union(*(TASKS_A if r == ROOT_A else TASKS_B for r in set(roots)))
    problems += log_problems(ws.wd / LOG_NAME, expected)
    for root in sorted(set(roots)):
        plan = ws.check(root)
        wanted = TASKS_A if root == ROOT_A else TASKS_B
        assert set(plan) == wanted, plan  # the harness checks the graph it means to
        if complete(plan) != wanted:
            problems.append(f"after the builds, a plan of {root} calls complete only "
                            f"{sorted(complete(plan))}: {plan}")
    ran = collections.Counter(task for r in results for task in r.names("completed"))
    print(f"{len(roots)} builds ({', '.join(roots)}): ran {dict(sorted(ran.items()))}")
    return problems


@pytest.fixture
def ws(tmp_path):
    return Workspace.create(tmp_path)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("attempt", range(3))
def test_two_processes_same_root_run_each_task_once(ws, attempt):
    problems = process_trial(ws, [ROOT_A, ROOT_A])
    assert not problems, "\n".join(problems)


@pytest.mark.timeout(150)
def test_four_processes_two_roots_sharing_upstream_run_each_task_once(ws):
    problems = process_trial(ws, [ROOT_A, ROOT_B, ROOT_A, ROOT_B])
    assert not problems, "\n".join(problems)


@pytest.mark.timeout(120)
def test_two_threads_in_one_process_run_each_task_once(tmp_path):
    from faults_support.fltpkg import conc

    wd = tmp_path / "wd"
    wd.mkdir()
    barrier = threading.Barrier(2, timeout=60)
    summaries: list = [None, None]
    errors: list = [None, None]

    def one_build(slot: int) -> None:
        try:
            barrier.wait()
            summaries[slot] = luisy.build(conc.RootA(), working_dir=str(wd), workers=2)
        except BaseException as exc:  # reported below, with the other thread's outcome
            errors[slot] = exc

    luisy.Config().reset()
    try:
        threads = [threading.Thread(target=one_build, args=(slot,), daemon=True)
                   for slot in range(2)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 100
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in threads), "a build thread did not finish"

        problems = [f"thread {i}: luisy.build raised {exc!r}" for i, exc in enumerate(errors)
                    if exc is not None]
        problems += [f"thread {i}: the build was not ok: {summary}"
                     for i, summary in enumerate(summaries)
                     if summary is not None and not summary.ok]
        problems += log_problems(wd / LOG_NAME, TASKS_A)
        luisy.Config().set_param("working_dir", str(wd))
        plan = luisy.plan(conc.RootA())
        steps = {str(t): s.decision.value for t, s in plan.steps.items()}
        assert set(steps) == TASKS_A, steps
        if any(d != "complete" for d in steps.values()):
            problems.append(f"after the builds, the plan: {steps}")
        ran = collections.Counter(str(t) for s in summaries if s for t in s.completed)
        print(f"2 threads (RootA): ran {dict(sorted(ran.items()))}")
    finally:
        luisy.Config().reset()
    assert not problems, "\n".join(problems)
