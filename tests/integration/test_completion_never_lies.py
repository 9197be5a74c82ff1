"""A plan never calls a task complete whose output was not written by the current code.

The pipeline (``faults_support/fltpkg``) writes ``VERSION`` into every output, and ``VERSION``
is used in every ``run()``, so it is part of every task's key. Whatever happens to a build (a
``run()`` that writes nothing, one that writes and then raises, ``kill -9`` at any moment), a
fresh process that plans under code version ``vX`` must call a task ``complete`` only if its
output holds ``vX``'s bytes. Builds and plans run in subprocesses, exactly as a user would
run them, against the test session's Prefect server; the package is a per-test copy whose
source is edited between runs.
"""
from __future__ import annotations

import os
import random
import time

import pytest
from faults_support import (
    ALL_TASKS,
    SINGLE_ROOT,
    TASKS_ROOT,
    Workspace,
    complete,
    lies,
)

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_server")]

SINGLE = {"Flaky()", "AfterFlaky()"}
FLAKY_ROOT = "fltpkg.single:Flaky"


@pytest.fixture
def ws(tmp_path):
    return Workspace.create(tmp_path)


def set_single(ws: Workspace, version: str, mode: str) -> None:
    ws.set_constant("single", "VERSION", version)
    ws.set_constant("single", "MODE", mode)


def first_build_v1(ws: Workspace) -> None:
    set_single(ws, "v1", "write")
    run = ws.build(SINGLE_ROOT)
    assert run.code == 0, run
    assert run.names("completed") == SINGLE, run
    plan = ws.check(SINGLE_ROOT)
    assert complete(plan) == SINGLE, plan
    assert lies(plan, "v1") == [], plan


# ------------------------------------------------------------- a: a run that writes nothing
@pytest.mark.timeout(150)
def test_a_rerun_whose_run_writes_nothing_is_not_complete(ws):
    first_build_v1(ws)
    problems = []

    # v2: Flaky's run() returns without writing; its v1 file is still there
    set_single(ws, "v2", "nothing")
    run = ws.build(SINGLE_ROOT)
    if run.code == 0:
        problems.append(f"the build whose Flaky.run() wrote nothing exited 0: {run.summary}")
    if "Flaky()" not in run.names("failed"):
        problems.append(f"Flaky() is not among the failed tasks: {run.summary}")
    if "Flaky()" in run.names("completed"):
        problems.append("Flaky() was counted as completed although its run() wrote nothing")
    if "AfterFlaky()" in run.names("completed"):
        problems.append("AfterFlaky() ran on the v1 output of Flaky() under v2 code")

    plan = ws.check(SINGLE_ROOT)  # still v2 + "nothing": the code that just ran
    if plan["Flaky()"]["decision"] == "complete":
        problems.append(f"under v2 code the plan calls Flaky() complete, but its output holds "
                        f"{plan['Flaky()']['version']}'s bytes: {plan['Flaky()']}")
    problems += [f"v2 code: complete but not v2: {lie}" for lie in lies(plan, "v2")]

    set_single(ws, "v1", "write")  # the v1 code exactly: its v1 bytes may count as complete
    plan = ws.check(SINGLE_ROOT)
    problems += [f"v1 code: complete but not v1: {lie}" for lie in lies(plan, "v1")]

    # a working v2 run() repairs everything
    set_single(ws, "v2", "write")
    run = ws.build(SINGLE_ROOT)
    if run.code != 0:
        problems.append(f"the repaired v2 build failed: {run}")
    plan = ws.check(SINGLE_ROOT)
    if complete(plan) != SINGLE or lies(plan, "v2"):
        problems.append(f"after the repaired v2 build: {plan}")

    assert not problems, "\n".join(problems)


# ---------------------------------------------------------- b: a run that writes, then raises
@pytest.mark.timeout(150)
def test_b_rerun_whose_run_writes_then_raises_is_complete_under_no_code(ws):
    first_build_v1(ws)
    problems = []

    # v2: Flaky's run() writes its v2 output, then raises
    set_single(ws, "v2", "write_then_raise")
    run = ws.build(SINGLE_ROOT)
    assert run.code != 0, f"a build whose task raised exited 0:\n{run}"
    assert "Flaky()" in run.names("failed"), run
    assert "Flaky()" not in run.names("completed"), run

    plan = ws.check(SINGLE_ROOT)  # the v2 code that raised
    if plan["Flaky()"]["decision"] == "complete":
        problems.append(f"under the v2 code whose run failed, the plan calls Flaky() complete: "
                        f"{plan['Flaky()']}")
    problems += [f"v2 code: complete but not v2: {lie}" for lie in lies(plan, "v2")]

    set_single(ws, "v1", "write")  # the v1 code exactly; Flaky's bytes are v2's now
    plan = ws.check(SINGLE_ROOT)
    if plan["Flaky()"]["decision"] == "complete":
        problems.append(f"under v1 code the plan calls Flaky() complete, but its output holds "
                        f"{plan['Flaky()']['version']}'s bytes: {plan['Flaky()']}")
    problems += [f"v1 code: complete but not v1: {lie}" for lie in lies(plan, "v1")]

    # the next v1 build reruns what it needs; AfterFlaky's v1 output is genuine, so Flaky may
    # be left alone ("not needed"), but it must not be called complete with v2 bytes
    run = ws.build(SINGLE_ROOT)
    if run.code != 0:
        problems.append(f"the next v1 build failed: {run}")
    plan = ws.check(SINGLE_ROOT)
    problems += [f"after the next v1 build: complete but not v1: {lie}"
                 for lie in lies(plan, "v1")]
    if plan["AfterFlaky()"]["decision"] != "complete":
        problems.append(f"after the next v1 build, AfterFlaky() is not complete: {plan}")
    # a build that needs Flaky itself reruns it, or finds v1 bytes
    run = ws.build(FLAKY_ROOT)
    if run.code != 0:
        problems.append(f"the v1 build of Flaky() failed: {run}")
    plan = ws.check(FLAKY_ROOT)
    if plan["Flaky()"]["decision"] != "complete" or plan["Flaky()"]["version"] != "v1":
        problems.append(f"after a v1 build of Flaky() itself: {plan['Flaky()']}")

    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------- c: kill -9 at random
KILLS = 20


def other(version: str) -> str:
    return "v2" if version == "v1" else "v1"


@pytest.mark.timeout(240)
def test_c_kill_9_at_random_points_never_leaves_a_lying_complete(ws):
    """20 builds, each killed with SIGKILL at a random moment; after each, plans under both
    code versions (fresh processes) may call complete only what holds that version's bytes.

    Builds alternate between v1 and v2, so each one has outputs of the other version to
    replace. The kill delay is uniform in [0, T], counted from the moment the driver, with
    luisy and Prefect imported, calls ``luisy.build``; T is that span (build call to process
    exit) of a full build. The next build is started, and imports, while the plans of the last
    one are checked. At the end a build under new code (v3) must succeed, rewrite every output
    and leave no temporary file of the killed builds behind.
    """
    seed = int(os.environ.get("LUISY_FAULTS_SEED", "20240611"))
    rng = random.Random(seed)
    print(f"kill test: seed={seed} (set LUISY_FAULTS_SEED to replay)")
    started = time.monotonic()

    # one full build from scratch, timed from its build call to its exit
    ws.set_constant("tasks", "VERSION", "v1")
    driver = ws.start_build(TASKS_ROOT, wait_go=True)
    driver.wait_line("READY")
    driver.go()
    driver.wait_line("GO")
    go = time.monotonic()
    run = driver.finish()
    full = time.monotonic() - go
    assert run.code == 0, run
    assert run.names("completed") == ALL_TASKS, run
    plan = ws.check(TASKS_ROOT)
    assert complete(plan) == ALL_TASKS and lies(plan, "v1") == [], plan
    print(f"full build: {full:.2f}s from build call to exit")
    assert 0.2 < full < 60, full

    version = "v1"
    violations: list[str] = []
    crashed: list[str] = []  # builds that ended before their kill, but not with exit code 0
    stats = {"killed running": 0, "mixed versions": 0, "complete claims checked": 0}
    next_driver = ws.start_build(TASKS_ROOT, wait_go=True)
    for kill in range(KILLS):
        version = other(version)  # alternate: each build has the other version to replace
        ws.set_constant("tasks", "VERSION", version)
        driver, next_driver = next_driver, None
        driver.wait_line("READY")
        delay = rng.uniform(0, full)
        driver.go()
        driver.wait_line("GO")
        go = time.monotonic()
        time.sleep(max(0.0, delay - (time.monotonic() - go)))
        running = driver.proc.poll() is None
        driver.kill()
        stats["killed running"] += running
        next_driver = ws.start_build(TASKS_ROOT, wait_go=True)  # imports while we check

        if not running and driver.proc.returncode != 0:
            crashed.append(f"kill {kill + 1}: the {version} build exited "
                           f"{driver.proc.returncode} before the kill:\n{driver.err[-3000:]}")
        line = [f"kill {kill + 1:2d}: {version} build, after {delay:.2f}s"
                f"{'' if running else f' (had exited {driver.proc.returncode})'}"]
        for code_version in (version, other(version)):
            ws.set_constant("tasks", "VERSION", code_version)
            plan = ws.check(TASKS_ROOT)
            claims = complete(plan)
            stats["complete claims checked"] += len(claims)
            wrong = lies(plan, code_version)
            violations += [f"kill {kill + 1} ({version} build killed after {delay:.2f}s), "
                           f"{code_version} code: {lie}" for lie in wrong]
            if code_version == version:  # outputs of both versions: killed mid-build
                holding = sum(row["version"] == version for row in plan.values())
                stats["mixed versions"] += 0 < holding < len(ALL_TASKS)
                line.append(f"{holding:2d} outputs hold {version}, {len(ws.leftovers())} temp")
            line.append(f"{code_version} code: {len(claims):2d} complete, {len(wrong)} lying")
        print(", ".join(line))
        # the file now says other(version): the next build's version, as alternation wants
    next_driver.kill()
    print(f"stats: {stats}; violations: {len(violations)} in {KILLS} kills; "
          f"loop took {time.monotonic() - started:.0f}s")

    problems = list(crashed)
    # the harness hit builds where it matters: while running, with outputs half rewritten
    assert stats["killed running"] >= KILLS // 2, stats
    assert stats["mixed versions"] >= 1, stats
    if violations:
        problems.append(f"{len(violations)} violations in {KILLS} kills (seed {seed}):\n  "
                        + "\n  ".join(violations))

    # a final build under new code (v3): every task must rerun, whatever the debris. (Under
    # v1 or v2 a genuinely complete Root would rightly leave older bytes upstream alone.)
    current = "v3"
    ws.set_constant("tasks", "VERSION", current)
    leftovers_before = ws.leftovers()
    run = ws.build(TASKS_ROOT)
    if run.code != 0:
        problems.append(f"the final {current} build failed:\n{run}")
    plan = ws.check(TASKS_ROOT)
    if complete(plan) != ALL_TASKS:
        problems.append(f"after the final build, not complete: "
                        f"{sorted(ALL_TASKS - complete(plan))}")
    stale = sorted(t for t, row in plan.items() if row["version"] != current)
    if stale:
        problems.append(f"after the final {current} build, outputs not {current}: {stale}")
    leftovers = ws.leftovers()
    if leftovers:
        problems.append(f"{len(leftovers)} temp files/folders remain after the final build "
                        f"({len(leftovers_before)} before it): {leftovers}")
    print(f"final build: {run.code=}, temp files before it: {len(leftovers_before)}, after: "
          f"{len(leftovers)}; whole test: {time.monotonic() - started:.0f}s")
    assert not problems, "\n".join(problems)
