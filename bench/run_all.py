"""luisy 2 against luisy 1.4.7, a hand-written Prefect flow and Prefect's own caching, side by side.

    .venv/bin/python bench/run_all.py

Creates the luisy 1.4.7 venv (``bench/.venv-luisy1``) if missing, writes the same pipelines
for both luisy versions (``bench/_pipelines.py``) under ``bench/_work/``, starts one Prefect
server, runs every scenario at every size, writes ``bench/RESULTS.md`` and prints its tables.

Each measurement is a fresh process (``bench/_worker.py``): luisy 2 and the two Prefect flows
with the luisy 2 venv's python, luisy 1.4.7 with its own venv's. The time reported first is
measured inside that process around ``build(...)`` (imports done before the clock starts); the
process's wall time (imports, interpreter start and exit, Prefect's event flush at exit) is
reported separately. Between runs the Prefect server is left to record everything the last
run sent (not timed), so no run pays for the previous one's backlog. ``workers=1`` everywhere
(luisy 1.x's ``build()`` runs luigi with one worker whatever it is given).

The Prefect sides: a hand-written flow without caching that submits what it knows to be missing
(the floor of a task run), and "Prefect native caching", the same pipelines as Prefect tasks
with ``cache_policy=INPUTS + TASK_SOURCE`` and persisted results, where every build submits
every task and Prefect's cache records decide which task runs end ``Cached``.

Scenarios: fan-in of N trivial tasks (first build, no-op rebuild), a chain of depth 200, a
1,000-task DAG (10 levels x 100) rebuilt after an edit of one mid-level task class, a 1,000-task
fan-in rebuilt after an edit of a helper that a quarter of its tasks call, planning at 1k and
10k tasks, fingerprints of 200 task classes, and a bare Prefect task run (the floor).

Options: ``--quick`` (small sizes, to try the harness), ``--only native`` (luisy 2 against
Prefect native caching alone: fan-in, chain, the two edits), ``--l1-timeout`` (seconds before a
luisy 1.x process is stopped and reported as ``>T s``), ``--rounds`` (repeats of the fan-in and
chain runs, medians reported), ``--no-luisy1``, ``--output``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "src"))

import _pipelines as pipelines  # noqa: E402
from luisy1_venv import L1_PYTHON, ensure_luisy1_venv, pip_install  # noqa: E402

from luisy.testing.server import PrefectServer  # noqa: E402

WORK = os.path.join(HERE, "_work")
WORKER = os.path.join(HERE, "_worker.py")
SIDES = ("luisy2", "luisy1", "prefect", "prefect-cached")
LABEL = {"luisy2": "luisy 2", "luisy1": "luisy 1.4.7", "prefect": "Prefect hand-written",
         "prefect-cached": "Prefect native caching"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------ set-up
def write_projects(sides: tuple[str, ...] = ("luisy2", "luisy1")) -> dict[str, str]:
    """A fresh copy of the pipelines for each side that imports them (a code edit of one side
    never reaches another); the 1.x one pip-installed (editable)."""
    srcs = {}
    for side in sides:
        if side == "prefect":  # the hand-written flow has its tasks in _worker.py
            continue
        root = os.path.join(WORK, f"{side}-project")
        shutil.rmtree(root, ignore_errors=True)
        srcs[side] = pipelines.write_project(root)
    if "luisy1" not in srcs:
        return srcs
    expected = os.path.join(srcs["luisy1"], pipelines.PACKAGE, "__init__.py")
    found = subprocess.run(
        [L1_PYTHON, "-c", f"import {pipelines.PACKAGE}; print({pipelines.PACKAGE}.__file__)"],
        capture_output=True, text=True, cwd="/").stdout.strip()
    if os.path.realpath(found or "/nonexistent") != os.path.realpath(expected):
        log("installing the benchmark package into the luisy 1.4.7 venv (pip install -e)")
        pip_install(L1_PYTHON, "--no-deps", "-e", os.path.dirname(srcs["luisy1"]))
    return srcs


def build_parameters() -> set[str]:
    """Keyword parameters of luisy 2's ``build()`` (options such as ``group_size`` come and
    go while luisy 2 is developed)."""
    code = "import inspect, luisy.runner; print(*inspect.signature(luisy.runner.build).parameters)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": os.path.join(REPO, "src")})
    return set(found.stdout.split())


def machine(luisy1: bool = True) -> dict[str, str]:
    mem_kb = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def version(python: str, dist: str) -> str:
        return subprocess.run(
            [python, "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
            capture_output=True, text=True).stdout.strip() or "?"

    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "src"],
                           capture_output=True, text=True).stdout.strip()
    info = {
        "cores": str(os.cpu_count()),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "cpu": cpu,
        "python": platform.python_version(),
        "prefect": version(sys.executable, "prefect"),
        "luisy2": f"{version(sys.executable, 'luisy')} (git {rev}"
                  f"{', uncommitted changes in src/' if dirty else ''})",
    }
    if luisy1:  # its venv may not exist when it is not measured
        info.update(luisy1=version(L1_PYTHON, "luisy"), luigi=version(L1_PYTHON, "luigi"))
    return info


# ------------------------------------------------------------------------------ running
def system_busy() -> float:
    """CPU seconds all cores have been busy since boot (user, nice, system, irq, softirq,
    steal)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
    return busy / os.sysconf("SC_CLK_TCK")


def self_cpu() -> float:
    usage = os.times()
    return usage.user + usage.system


def children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Run:
    seconds: float | None  # in-process; None: timed out / failed
    wall: float | None
    data: dict = field(default_factory=dict)
    timeout: float | None = None
    error: str | None = None

    def show(self, key: str = "seconds") -> str:
        if self.timeout is not None:
            return f">{self.timeout:.0f}"
        if self.error:
            return "error"
        value = self.seconds if key == "seconds" else self.wall if key == "wall" else \
            self.data.get(key)
        flag = "*" if key in ("seconds", "wall") and self.contended else ""
        return "-" if value is None else f"{value:.2f}{flag}"

    @property
    def contended(self) -> bool:
        """Other processes used more than 10 % of a core during the run."""
        return bool(self.wall and self.data.get("others_cpu", 0) > 0.1 * self.wall)


class Bench:
    def __init__(self, args: argparse.Namespace, srcs: dict[str, str], server: PrefectServer):
        self.args = args
        self.srcs = srcs
        self.server = server
        self.counter = 0
        self.recorded = 0  # completed task runs the server should hold
        self.logs = os.path.join(WORK, "logs")
        os.makedirs(self.logs, exist_ok=True)

    def workdir(self, name: str) -> str:
        path = os.path.join(WORK, "wd", name)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        return path

    def env(self, side: str, workdir: str | None) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        if side == "luisy1":
            for key in list(env):
                if key.startswith("PREFECT_"):
                    del env[key]
            env["PATH"] = f"{os.path.dirname(L1_PYTHON)}{os.pathsep}{env.get('PATH', '')}"
            env.pop("VIRTUAL_ENV", None)
            if workdir:
                env["WORKING_DIR"] = workdir
        else:
            env.update(self.server.env)
            env["PYTHONPATH"] = self.srcs.get(side, self.srcs["luisy2"])
        return env

    def run(self, side: str, op: str, spec: dict, workdir: str | None = None,
            timeout: float | None = None, tag: str = "", wrap: list[str] | None = None) -> Run:
        self.counter += 1
        tag = "".join(c if c.isalnum() else "-" for c in tag)
        name = f"{self.counter:03d}-{side}-{op}{'-' + tag if tag else ''}"
        spec = {**spec, "side": side, "op": op, "heartbeats": self.args.heartbeats,
                "assets": not self.args.no_assets,
                "result": os.path.join(self.logs, f"{name}.result.json")}
        if workdir:
            spec["workdir"] = workdir
        spec_path = os.path.join(self.logs, f"{name}.spec.json")
        with open(spec_path, "w") as fh:
            json.dump(spec, fh)
        python = L1_PYTHON if side == "luisy1" else sys.executable
        if side == "luisy1":
            timeout = timeout or self.args.l1_timeout
        out_path = os.path.join(self.logs, f"{name}.log")
        self.wait_for_quiet()
        server_before, client_before = self.server_cpu(), children_cpu()
        busy_before, own_before = system_busy(), self_cpu()
        start = time.perf_counter()
        with open(out_path, "wb") as out:
            proc = subprocess.Popen([*(wrap or []), python, WORKER, spec_path], stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=self.env(side, workdir), cwd=WORK,
                                    start_new_session=True)
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
                log(f"  {name}: stopped after {timeout:.0f} s")
                return Run(None, None, timeout=timeout)
            except BaseException:  # interrupted: the worker runs in its own session
                os.killpg(proc.pid, 9)
                proc.wait()
                raise
        wall = time.perf_counter() - start
        client_cpu, server_cpu = children_cpu() - client_before, self.server_cpu() - server_before
        others = system_busy() - busy_before - client_cpu - server_cpu - (self_cpu() - own_before)
        if code:
            with open(out_path, errors="replace") as fh:
                tail = fh.read()[-3000:]
            log(f"  {name}: exit {code}; tail of {out_path}:\n{tail}")
            return Run(None, wall, error=f"exit {code}")
        with open(spec["result"]) as fh:
            data = json.load(fh)
        data["client_cpu"], data["server_cpu"] = client_cpu, server_cpu
        data["others_cpu"] = max(0.0, others)
        if others > 0.1 * wall:
            log(f"  {name}: other processes on this machine used {others:.1f} s of CPU "
                "during the run (flagged *)")
        self.recorded += data.get("task_runs", 0)
        data["server_cpu_after"] = self.settle()
        extra = ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in data.items() if k != "seconds")
        log(f"  {name}: {data['seconds']:.2f} s in process, {wall:.2f} s wall ({extra})")
        return Run(data["seconds"], wall, data)

    def wait_for_quiet(self, limit: float = 0.2, timeout: float = 120) -> None:
        """Before a run: wait (up to ``timeout``) until processes other than this benchmark's
        use less than ``limit`` of a core, so a run does not start against someone else's
        load (their CPU during the run is still measured and flagged)."""
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            busy, server, own = system_busy(), self.server_cpu(), self_cpu()
            time.sleep(1.0)
            others = (system_busy() - busy) - (self.server_cpu() - server) - \
                (self_cpu() - own)
            if others < limit or time.monotonic() > deadline:
                break
            if not waited:
                log(f"  waiting: other processes use {others:.1f} cores")
                waited = True

    def server_cpu(self) -> float:
        return self.server.cpu_seconds()

    def settle(self, timeout: float = 900) -> float:
        """Not timed: wait until the server has recorded every task run sent so far and is
        idle again. Returns the server's CPU seconds spent meanwhile."""
        before = self.server_cpu()
        if not self.server.settle(self.recorded, timeout):
            log(f"  warning: server not settled ({self.recorded} task runs) after "
                f"{timeout:.0f} s; going on")
        return self.server_cpu() - before


# ------------------------------------------------------------------------------ scenarios
def outputs(folder: str) -> dict[str, int]:
    """Output file -> mtime_ns, for counting which tasks reran."""
    found = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            if name.endswith(".pkl"):
                path = os.path.join(dirpath, name)
                found[os.path.relpath(path, folder)] = os.stat(path).st_mtime_ns
    return found


def median_run(runs: list[Run]) -> Run:
    """The run with the median in-process time (the lower one of an even count)."""
    bad = [r for r in runs if r.seconds is None]
    if bad:
        return bad[0]
    middle = statistics.median_low(r.seconds for r in runs)
    run = next(r for r in runs if r.seconds == middle)
    run.data["rounds"] = len(runs)
    run.data["all_seconds"] = [r.seconds for r in runs]
    run.data["spread"] = f"{min(r.seconds for r in runs):.2f}-{max(r.seconds for r in runs):.2f}"
    return run


def fanin_tasks(n: int) -> list[tuple[str, list[str]]]:
    return [(f"Leaf_i={i}", []) for i in range(n)]


def chain_tasks(depth: int) -> list[tuple[str, list[str]]]:
    return [(f"Chain_k={k}", [f"Chain_k={k - 1}"] if k else []) for k in range(depth)]


@dataclass(frozen=True)
class Pipeline:
    """One pipeline as each side builds it: luisy's root task, and for the Prefect flows the
    task list (output stem, upstream stems) and the name of the final task that only waits."""
    name: str
    module: str
    cls: str
    params: dict
    tasks: list[tuple[str, list[str]]]
    wrapper: str | None


def fanin(n: int) -> Pipeline:
    return Pipeline(f"fan-in {n}", "benchpipe.fanin", "FanIn", {"n": n}, fanin_tasks(n), "FanIn")


def build_once(bench: Bench, side: str, pipeline: Pipeline, wd: str, tag: str,
               rebuild: bool = False) -> Run:
    """One build of ``pipeline`` in working dir ``wd``. Only the hand-written flow is told that
    it rebuilds (it then submits the tasks whose file is missing); the others decide alone."""
    flow = {"tasks": pipeline.tasks, "wrapper": pipeline.wrapper, "outdir": wd}
    if side == "prefect":
        return bench.run(side, "flow", {**flow, "skip_existing": rebuild}, tag=tag)
    if side == "prefect-cached":
        return bench.run(side, "flow", {**flow, "module": f"{pipelines.PACKAGE}.native",
                                        "result_storage": os.path.join(wd, "prefect-results")},
                         tag=tag)
    return bench.run(side, "build", {"module": pipeline.module, "cls": pipeline.cls,
                                     "params": pipeline.params}, wd, tag=tag)


def build_pair(bench: Bench, side: str, pipeline: Pipeline) -> tuple[Run, Run, str]:
    """First build and no-op rebuild of one side in a fresh working dir."""
    wd = bench.workdir("".join(c if c.isalnum() else "-" for c in f"{pipeline.name}-{side}"))
    first = build_once(bench, side, pipeline, wd, f"{pipeline.name}-first")
    if first.seconds is None:
        return first, Run(None, None, timeout=first.timeout, error=first.error), wd
    return first, build_once(bench, side, pipeline, wd, f"{pipeline.name}-noop", rebuild=True), wd


def scenario_builds(bench: Bench, results: dict, pipeline: Pipeline,
                    rounds: dict[str, int] | None = None) -> None:
    rounds = rounds or bench.rounds
    firsts: dict[str, list[Run]] = {s: [] for s in bench.sides}
    noops: dict[str, list[Run]] = {s: [] for s in bench.sides}
    for rnd in range(max(rounds.values())):
        order = bench.sides if rnd % 2 == 0 else tuple(reversed(bench.sides))
        for side in order:
            if rnd >= rounds[side]:
                continue
            if firsts[side] and firsts[side][-1].timeout is not None:
                continue  # a timed-out size is not repeated
            first, noop, _ = build_pair(bench, side, pipeline)
            firsts[side].append(first)
            noops[side].append(noop)
    results[f"{pipeline.name}: first build"] = {s: median_run(r) for s, r in firsts.items()}
    results[f"{pipeline.name}: no-op rebuild"] = {s: median_run(r) for s, r in noops.items()}


@dataclass(frozen=True)
class EditCase:
    """A code edit between two builds, and the output stems whose tasks it should rerun."""
    key: str  # the edit in pipelines.EDITS (luisy's sides)
    what: str  # "editing L5", for the result rows
    pipeline: Pipeline
    affected: frozenset[str]
    native_edit: str  # the same edit in benchpipe.native (the helper is shared)
    text: str  # for the report: the pipeline, the edit, which tasks it affects and why
    native_stale: str  # for the report: why Prefect's key does not see the edit


def dag_edit(width: int) -> EditCase:
    tasks = pipelines.dag_tasks(width)
    level = pipelines.EDITED_LEVEL
    return EditCase(
        "dag", f"editing L{level}",
        Pipeline(f"DAG {pipelines.LEVELS}x{width}", "benchpipe.dag", "DagRoot", {"w": width},
                 tasks, "DagRoot"),
        frozenset(s for s, _ in tasks if int(s[1:s.index("_")]) >= level), "native dag",
        f"`DagRoot(w)`: {pipelines.LEVELS} levels of `w` tasks, each `Lk(i)` requiring "
        f"`L(k-1)(i)` and `L(k-1)(i+1 mod w)`. After the first build, one statement is added "
        f"to `L{level}.run` (the native `L{level}` task function); the affected tasks are "
        f"L{level}..L{pipelines.LEVELS - 1} (their outputs depend on L{level}'s).",
        f"the tasks downstream of L{level} get the same upstream results as before, so their "
        "`INPUTS` are unchanged, and `TASK_SOURCE` hashes only each task's own source")


def helper_edit(n: int) -> EditCase:
    tasks = pipelines.helped_tasks(n)
    every = pipelines.HELPED_EVERY
    return EditCase(
        "helper", "editing the helper",
        Pipeline(f"fan-in {n}, 1 in {every} calling a helper", "benchpipe.helped",
                 "HelperRoot", {"n": n}, tasks, "HelperRoot"),
        frozenset(s for s, _ in tasks if s.startswith("Helped_")), "helper",
        f"`HelperRoot(n)`: {n} independent tasks; every {every}th one (`Helped`) writes "
        "`stamp(PAYLOAD)`, a function of the project's `benchpipe/util.py`, the others "
        "(`Plain`) write `PAYLOAD`. After the first build, `stamp` is changed to return "
        "another value; the affected tasks are the `Helped` ones (their outputs are now wrong).",
        "`TASK_SOURCE` hashes the task function's own source, not the helpers it calls, and "
        "the inputs did not change")


def _edit_round(bench: Bench, side: str, case: EditCase) -> tuple[Run, Run, Run]:
    """First build, no-op rebuild, then the edit and the rebuild (the hand-written flow: of
    exactly the affected tasks); the rebuild's data says which outputs it rewrote."""
    pipeline = case.pipeline
    first, noop, wd = build_pair(bench, side, pipeline)
    if first.seconds is None:
        return first, noop, Run(None, None, timeout=first.timeout, error=first.error)
    before = outputs(wd)
    if side == "prefect":  # a flow has no notion of code changes: the affected, by hand
        subset = Pipeline(pipeline.name, "", "", {}, [
            (s, [d for d in deps if d in case.affected]) for s, deps in pipeline.tasks
            if s in case.affected], pipeline.wrapper)
        rerun = build_once(bench, side, subset, wd, f"{pipeline.name}-rerun-affected")
    else:
        pipelines.apply_edit(bench.srcs[side],
                             case.native_edit if side == "prefect-cached" else case.key)
        try:
            rerun = build_once(bench, side, pipeline, wd, f"{pipeline.name}-after-edit")
        finally:
            pipelines.write_project(os.path.dirname(bench.srcs[side]))  # undo the edit
    after = outputs(wd)
    stems = {os.path.splitext(os.path.basename(p))[0]: p for p in before}
    changed = {s for s, p in stems.items() if p in after and after[p] != before[p]}
    missing = {s for s, p in stems.items() if p not in after}
    rerun.data.update({
        "outputs_rewritten": len(changed),
        "affected_rewritten": len(changed & case.affected),
        "affected_not_rewritten": len(case.affected - changed),
        "others_rewritten": len(changed - case.affected),
        "outputs_deleted": len(missing),
        "exactly_affected": changed == case.affected and not missing,
        "affected": len(case.affected),
        "rewritten_families": sorted({s.split("_")[0] for s in changed}),
    })
    log(f"  {LABEL[side]} after {case.what}: {len(changed)} outputs rewritten "
        f"({rerun.data['rewritten_families']}), {len(missing)} deleted; "
        f"affected: {len(case.affected)}")
    return first, noop, rerun


def scenario_edit(bench: Bench, results: dict, edits: dict, case: EditCase) -> None:
    """Build, no-op, edit, rebuild, every side; ``edits[case.key]``: each side's rebuild."""
    runs: dict[str, list[tuple[Run, Run, Run]]] = {s: [] for s in bench.sides}
    for rnd in range(max(bench.rounds.values())):
        order = bench.sides if rnd % 2 == 0 else tuple(reversed(bench.sides))
        for side in order:
            if rnd >= bench.rounds[side] or (runs[side] and runs[side][-1][0].timeout):
                continue
            runs[side].append(_edit_round(bench, side, case))
    name = case.pipeline.name
    for i, label in enumerate(("first build", "no-op rebuild", f"rebuild after {case.what}")):
        results[f"{name}: {label}"] = {s: median_run([r[i] for r in rs])
                                       for s, rs in runs.items()}
    edits[case.key] = {}
    for side, rs in runs.items():
        rerun = results[f"{name}: rebuild after {case.what}"][side]
        rerun.data["exactly_affected"] = all(r[2].data.get("exactly_affected") for r in rs)
        edits[case.key][side] = rerun


def scenario_plan(bench: Bench, results: dict, plan_rows: dict, size_label: str, module: str,
                  cls: str, params: dict) -> None:
    row = {}
    for side in ("luisy2", "luisy1"):
        if side not in bench.sides:
            continue
        wd = bench.workdir(f"plan-{size_label}-{side}")
        row[side] = bench.run(side, "plan", {"module": module, "cls": cls, "params": params},
                              wd, tag=f"plan-{size_label}")
    plan_rows[size_label] = row
    results[f"planning: {size_label}"] = row


def scenario_fingerprint(bench: Bench, results: dict) -> None:
    classes = pipelines.fp_class_names()
    row = {}
    for side in ("luisy2", "luisy1"):
        if side not in bench.sides:
            continue
        wd = bench.workdir(f"fp-{side}")
        row[side] = bench.run(side, "fingerprint", {"classes": classes}, wd, tag="fp")
    results[f"fingerprints: {len(classes)} task classes (cold)"] = row
    if "luisy2" in row and row["luisy2"].seconds is not None:
        warm = Run(row["luisy2"].data["warm_seconds"], None)
        results[f"fingerprints: {len(classes)} task classes (warm, same process)"] = {
            "luisy2": warm}


# ------------------------------------------------------------------------------ report
def ratio(a: Run | None, b: Run | None, key: str = "seconds") -> str:
    if a is None or b is None:
        return ""
    x = a.seconds if key == "seconds" else a.wall
    y = b.seconds if key == "seconds" else b.wall
    if x is None or (y is None and b.timeout is None):
        return ""
    if y is None:  # b timed out: the ratio is at most x / timeout
        return f"<{x / b.timeout:.3f}"
    return f"{x / y:.2f}" if y > 0 else ""


def results_table(results: dict[str, dict[str, Run]], sides: tuple[str, ...]) -> list[str]:
    cols = [s for s in SIDES if s in sides]
    head = ["scenario"] + [f"{LABEL[s]} (s)" for s in cols]
    if "luisy1" in cols:
        head.append("luisy2 / luisy1")
    if "prefect" in cols:
        head.append("luisy2 / prefect")
    if "prefect-cached" in cols:
        head.append("luisy2 / native")
    head += [f"wall: {LABEL[s]} (s)" for s in cols]
    if "luisy1" in cols:
        head.append("wall luisy2 / luisy1")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in results.items():
        l2 = row.get("luisy2")
        cells = [name] + [row[s].show() if s in row else "" for s in cols]
        if "luisy1" in cols:
            cells.append(ratio(l2, row.get("luisy1")))
        if "prefect" in cols:
            cells.append(ratio(l2, row.get("prefect")))
        if "prefect-cached" in cols:
            cells.append(ratio(l2, row.get("prefect-cached")))
        cells += [row[s].show("wall") if s in row and row[s].wall is not None else ""
                  for s in cols]
        if "luisy1" in cols:
            cells.append(ratio(l2, row.get("luisy1"), "wall"))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def cpu_table(results: dict[str, dict[str, Run]], sides: tuple[str, ...]) -> list[str]:
    cols = [s for s in SIDES if s in sides]
    head = ["scenario"] + [f"client: {LABEL[s]}" for s in cols] + \
        [f"server: {LABEL[s]}" for s in cols if s != "luisy1"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in results.items():
        if not any(r.data.get("client_cpu") is not None for r in row.values()):
            continue
        cells = [name]
        for side in cols:
            run = row.get(side)
            cells.append(f"{run.data['client_cpu']:.1f}" if run and "client_cpu" in run.data
                         else "")
        for side in cols:
            if side == "luisy1":
                continue
            run = row.get(side)
            cells.append(f"{run.data['server_cpu']:.1f} + {run.data['server_cpu_after']:.1f}"
                         if run and "server_cpu" in run.data else "")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def edit_section(case: EditCase, runs: dict[str, Run]) -> list[str]:
    """The table of one edit's rebuilds, and what Prefect's own caching did, in words."""
    out = [f"### {case.what[0].upper()}{case.what[1:]} ({case.pipeline.name})", "",
           case.text, "",
           "| side | rebuild (s) | outputs rewritten | task families rewritten | outputs deleted "
           "| task runs | exactly the affected tasks |",
           "|---|---|---|---|---|---|---|"]
    for side in (s for s in SIDES if s in runs):
        run, d = runs[side], runs[side].data
        task_runs = f"{d.get('ran', '')}" + (f" ran, {d['cached']} `Cached`" if "cached" in d
                                             else "")
        out.append(f"| {LABEL[side]} | {run.show()} | {d.get('outputs_rewritten', '')} "
                   f"of {d.get('affected', '')} affected | "
                   f"{', '.join(d.get('rewritten_families', [])) or '-'} | "
                   f"{d.get('outputs_deleted', '')} | {task_runs} | "
                   f"{'yes' if d.get('exactly_affected') else 'no'} |")
    native = runs.get("prefect-cached")
    if native is not None and native.seconds is not None:
        d = native.data
        stale = d["affected_not_rewritten"]
        others = f" and {d['others_rewritten']} others" if d["others_rewritten"] else ""
        did = (f"Measured: Prefect's own caching (`INPUTS + TASK_SOURCE`) rewrote "
               f"{d['affected_rewritten']} of the {d['affected']} affected outputs{others} "
               f"({d['ran']} task runs ran, {d['cached']} ended `Cached`)")
        out += ["", did + (f": {stale} affected outputs kept results of the code before the "
                           f"edit, stale, because {case.native_stale}." if stale else
                           ": its key saw the edit.")]
    return [*out, ""]


def report(args: argparse.Namespace, info: dict, command: str, results: dict,
           cases: list[EditCase], edits: dict, plan_rows: dict, bare: dict, targets: list,
           sides: tuple, elapsed: float) -> str:
    others = [LABEL[s] for s in SIDES if s in sides and s != "luisy2"]
    out = [
        f"# Benchmarks: luisy 2 vs {', '.join(others)}",
        "",
        "Generated by `bench/run_all.py`; do not edit by hand (rerun the command).",
        "",
        f"- date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: {info['cores']} cores ({info['cpu']}), {info['memory']} memory, "
        f"Python {info['python']}",
        f"- luisy 2: {info['luisy2']}, Prefect {info['prefect']} (one local "
        "`prefect server start`, SQLite)",
        *([f"- luisy 1.4.7: luisy {info['luisy1']}, luigi {info['luigi']} (venv "
           "`bench/.venv-luisy1`)"] if "luisy1" in info else []),
        f"- command: `{command}` ({elapsed / 60:.1f} min)",
        "",
        *(["Prefect native caching: the same pipelines as Prefect tasks (`benchpipe.native`) "
           "with `cache_policy=INPUTS + TASK_SOURCE` and `persist_result=True`, results "
           "stored in the build's working dir, each task taking its upstream results as "
           "inputs. Every build submits every task; on a rebuild (a fresh process) Prefect "
           "reads its cache records, and a task run whose key matches ends `Cached`.", ""]
          if "prefect-cached" in sides else []),
        "Times in seconds. The first columns are measured inside each process around the "
        "call (`build(...)`, the flow, `make_plan`, the fingerprints), after imports; the "
        "`wall` columns are the whole process (interpreter start, imports, the run, exit "
        "including Prefect's event flush). Every measurement is a fresh process, `workers=1`"
        + f"; fan-in, chain and DAG: the median of {args.rounds} rounds for luisy 2 and Prefect "
          f"(order alternating), {args.l1_rounds} for luisy 1.4.7 (its runs are long), except "
          f"the fan-in the targets are judged on: {max(args.rounds, args.l1_rounds)} rounds "
          "of every side, each round giving a paired ratio, as this machine's speed drifts "
          "between runs (the same luisy 1.4.7 build has taken 32 s and 66 s here)"
        + ". `>T` = stopped after T s (ratio then `<`). `*` = other processes on the "
          "machine used more than 10 % of a core during that run (each run first waits for "
          "a quiet machine). Prefect's flow-run heartbeats: "
        + ("on (Prefect's default: every flow run lasts a whole number of seconds plus "
           "~0.1 s, see bench/README.md)." if args.heartbeats else
           "off for every side (`--heartbeats` keeps them): with them every flow run lasts "
           "a whole number of seconds plus ~0.1 s, a rounding that would decide the ratio "
           "of short runs.")
        + (" The hand-written flow sends no asset events (`--no-assets`); luisy 2 sends one "
           "per output." if args.no_assets else
           " Asset events: the hand-written flow's tasks send the one luisy 2 sends for each "
           "output (`prefect.asset.materialization.succeeded`, the same resources and "
           "payload shape; `--no-assets`: none), so Prefect's cost of assets is on both "
           "sides."),
        "",
        "## Targets",
        "",
        "| target | measured | result |",
        "|---|---|---|",
        *[f"| {t} | {m} | {r} |" for t, m, r in targets],
        "",
        "## All scenarios",
        "",
        *results_table(results, sides),
        "",
        "## CPU seconds",
        "",
        "Client: the measuring process, whole (user + system, its subprocesses included: "
        "luisy 1.4.7's pipdeptree). Server: the Prefect server's processes, during the run + "
        "after it until idle (recording the run's events and logs). The server shares this "
        "machine's cores with the client; luisy 1.4.7 uses no server.",
        "",
        *cpu_table(results, sides),
        "",
    ]
    if edits:
        out += [
            "## Reruns after a code edit",
            "",
            "Counted from the output files the rebuild rewrote / deleted, and from its task "
            "runs (Prefect native caching: ran = not `Cached`). The hand-written Prefect "
            "flow runs exactly the affected tasks, listed by hand (a flow has no notion of "
            "code changes): the floor for that rerun. Prefect native caching submits every "
            "task and leaves the decision to its cache key.",
            "",
        ]
        for case in cases:
            if case.key in edits:
                out += edit_section(case, edits[case.key])
    if plan_rows:
        out += [
            "## Planning",
            "",
            "Deciding what runs, before anything runs, in a fresh working dir (everything to "
            "run). luisy 2: `make_plan` (graph, fingerprints, keys, decisions). luisy 1.4.7 "
            "decides in two passes, both before running: its hashing (`build(dry_run=True)`: "
            "dependency walk, code hashes with pipdeptree, `.luisy.hash`, the printed plan) and "
            "luigi's scheduling (`Worker.add`: `complete()` of every task).",
            "",
            "| graph | luisy 2 (s) | luisy 1.4.7 (s) | of which luisy hashing | of which luigi "
            "scheduling | luisy2 / luisy1 |",
            "|---|---|---|---|---|---|",
        ]
        for size, row in plan_rows.items():
            l1 = row.get("luisy1")
            out.append(
                f"| {size} | {row['luisy2'].show() if 'luisy2' in row else ''} | "
                f"{l1.show() if l1 else ''} | "
                f"{l1.show('hashing_seconds') if l1 else ''} | "
                f"{l1.show('scheduling_seconds') if l1 else ''} | "
                f"{ratio(row.get('luisy2'), l1)} |")
        out.append("")
    if bare:
        out += ["## Per-task cost and the Prefect floor", "",
                "| what | per task (ms) |", "|---|---|"]
        out += [f"| {k} | {v} |" for k, v in bare.items()]
        out.append("")
    return "\n".join(out)


def per_task(run: Run | None, n: int, minus: Run | None = None) -> str:
    if run is None or run.seconds is None:
        return run.show() if run else "-"
    base = minus.seconds if minus is not None and minus.seconds is not None else 0.0
    return f"{(run.seconds - base) / n * 1000:.2f}"


def times(r: float) -> str:
    """A ratio, with a third digit where the 0.05x target needs it."""
    return f"{r:.2f}x" if r >= 0.1 else f"{r:.3f}x"


def judge(row: dict[str, Run], side: str, limit: float) -> tuple[str, str] | None:
    """luisy 2 against ``side`` in one result row, target luisy 2 <= ``limit`` x ``side``:
    (measured, verdict); None when either is missing. With several rounds of both, the verdict
    is the median of the per-round ratios: a round is one state of the machine, whose speed
    drifts between rounds (the same luisy 1.4.7 build has taken 32 s and 66 s here)."""
    l2, other = row.get("luisy2"), row.get(side)
    if l2 is None or other is None:
        return None
    if l2.seconds is None:
        return f"luisy 2 {l2.show()}", "FAIL"
    if other.seconds is None and other.timeout is not None:
        return (f"{l2.seconds:.2f} s vs >{other.timeout:.0f} s",
                "PASS" if l2.seconds <= limit * other.timeout else "FAIL")
    if other.seconds is None:
        return f"{LABEL[side]} failed", "n/a"
    r = l2.seconds / other.seconds
    measured = f"medians {l2.seconds:.2f} s vs {other.seconds:.2f} s = {times(r)} " \
               f"(wall {ratio(l2, other, 'wall')}x)"
    pairs = list(zip(l2.data.get("all_seconds", []), other.data.get("all_seconds", []),
                     strict=False))
    if len(pairs) > 1:  # the same round: the same state of the machine
        per_round = [a / b for a, b in pairs]
        r = statistics.median(per_round)
        measured += "; per round " + ", ".join(times(x) for x in per_round) + \
            f", median {times(r)}"
    return measured, "PASS" if r <= limit else "FAIL"


def rewrote(side: str, d: dict) -> str:
    return (f"{LABEL[side]} rewrote {d.get('outputs_rewritten')} outputs "
            f"({', '.join(d.get('rewritten_families', [])) or '-'}), deleted "
            f"{d.get('outputs_deleted')}")


#: issue 11's targets against the hand-written flow: result row, luisy 2 / flow at most
FLOOR_TARGETS = [
    ("fan-in 1000: first build", 1.2),
    ("fan-in {big}: first build", 1.1),
    ("chain 200: first build", 1.1),
    (f"DAG {pipelines.LEVELS}x100: rebuild after editing L{pipelines.EDITED_LEVEL}", 1.1),
]


def evaluate(results: dict, edits: dict, fanin_big: int) -> list[tuple[str, str, str]]:
    targets = []
    first = results.get(f"fan-in {fanin_big}: first build", {})
    noop = results.get(f"fan-in {fanin_big}: no-op rebuild", {})
    for kind, row in (("first build", first), ("no-op rebuild", noop)):
        verdict = judge(row, "luisy1", 0.5)
        if verdict:
            targets.append((f"{kind} of {fanin_big:,} trivial tasks <= 0.5x luisy 1.4.7",
                            *verdict))
    if "luisy2" in edits.get("dag", {}):
        d = edits["dag"]["luisy2"].data
        targets.append((
            "rerun after a mid-level edit touches only the affected tasks",
            f"{rewrote('luisy2', d)}; affected: {d.get('affected')}",
            "PASS" if d.get("exactly_affected") else "FAIL"))
    for name, row in results.items():
        if name.startswith(f"fan-in {fanin_big}: first build, luisy 2 build(") and \
                row["luisy2"].seconds and row.get("luisy1") and row["luisy1"].seconds:
            r = row["luisy2"].seconds / row["luisy1"].seconds
            option = name.split("luisy 2 ", 1)[1]
            targets.append((f"(opt-in) first build of {fanin_big:,} with {option} <= 0.5x "
                            "luisy 1.4.7", f"{row['luisy2'].seconds:.2f} s = {r:.2f}x",
                            "PASS" if r <= 0.5 else "FAIL"))
    # issue 11: close to the floor, a hand-written flow running the same tasks
    for row_name, limit in FLOOR_TARGETS:
        verdict = judge(results.get(row_name.format(big=fanin_big), {}), "prefect", limit)
        if verdict:
            targets.append((f"{row_name.format(big=fanin_big)} <= {limit}x the hand-written "
                            "flow", *verdict))
    # issue 14: against Prefect's own caching
    verdict = judge(noop, "prefect-cached", 0.05)
    if verdict:
        targets.append((f"no-op rebuild of {fanin_big:,} tasks <= 0.05x Prefect native caching "
                        "(which makes a `Cached` task run of each)", *verdict))
    helper = edits.get("helper", {})
    if "luisy2" in helper:
        d = helper["luisy2"].data
        measured = f"{rewrote('luisy2', d)}; affected: {d.get('affected')}"
        if "prefect-cached" in helper:
            native = helper["prefect-cached"].data
            measured += f"; {rewrote('prefect-cached', native)}, {native.get('ran')} task " \
                        f"runs not `Cached`, {native.get('affected_not_rewritten')} affected " \
                        "outputs stale"
        targets.append(("a helper edit reruns exactly the affected tasks (those calling it)",
                        measured, "PASS" if d.get("exactly_affected") else "FAIL"))
    verdict = judge(first, "prefect-cached", 1.1)
    if verdict:
        targets.append((f"first build of {fanin_big:,} tasks <= 1.1x Prefect native caching",
                        *verdict))
    return targets


# ------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: try the harness")
    parser.add_argument("--only", choices=["native", "floor"],
                        help="native: only luisy 2 against Prefect native caching (fan-in, "
                             "chain, the two code edits; no luisy 1.4.7, hand-written flow, "
                             "planning or fingerprints), written to bench/RESULTS-native.md; "
                             "floor: only luisy 2 against the hand-written flow (fan-in 1,000 "
                             "and 3,000, chain, the DAG edit), to bench/RESULTS-floor.md; "
                             "unless --output says otherwise")
    parser.add_argument("--no-assets", action="store_true",
                        help="the hand-written flow sends no asset events (luisy sends one "
                             "per output, as Prefect assets); by default it sends the same")
    parser.add_argument("--heartbeats", action="store_true",
                        help="keep Prefect's flow-run heartbeats on (its default); off, every "
                             "flow run of every side is not rounded up to whole seconds")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the fan-in and chain builds for luisy 2 and Prefect")
    parser.add_argument("--l1-rounds", type=int, default=1,
                        help="the same for luisy 1.4.7 (its runs are long); at the largest "
                             "fan-in (the targets) every side runs max(--rounds, this)")
    parser.add_argument("--l1-timeout", type=float, default=420.0)
    parser.add_argument("--no-luisy1", action="store_true")
    parser.add_argument("--group-size", type=int, default=100,
                        help="where luisy 2's build() takes group_size: one more fan-in row "
                             "with it (0: skip)")
    parser.add_argument("--output", help="default bench/RESULTS.md (--only native: "
                                         "bench/RESULTS-native.md, so that a partial run does "
                                         "not replace the whole report)")
    args = parser.parse_args(argv)
    args.output = args.output or os.path.join(
        HERE, f"RESULTS-{args.only}.md" if args.only else "RESULTS.md")
    # SIGTERM (a timeout, a CI stop) ends like Ctrl-C: the server and the worker are stopped
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    command = shlex.join([os.path.relpath(sys.executable, REPO) if sys.executable.startswith(
        REPO) else sys.executable, os.path.relpath(os.path.abspath(__file__), REPO),
        *(argv if argv is not None else sys.argv[1:])])
    began = time.monotonic()

    fanin_sizes = [20, 100] if args.quick else [100, 1000, 3000]
    if args.only == "floor":
        fanin_sizes = fanin_sizes[1:]
    chain_depth = 20 if args.quick else 200
    width = 10 if args.quick else 100
    plan_sizes = [100, 1000] if args.quick else [1000, 10000]
    bare_n = 100 if args.quick else 1000
    cases = [dag_edit(width)] + ([] if args.only == "floor" else
                                 [helper_edit(pipelines.LEVELS * width)])

    os.makedirs(WORK, exist_ok=True)
    full = args.only is None
    sides: tuple[str, ...] = ("luisy2", "prefect-cached")
    if args.only == "floor":
        sides = ("luisy2", "prefect")
    if full:
        sides = ("luisy2", "prefect", "prefect-cached") + (() if args.no_luisy1 else ("luisy1",))
    if "luisy1" in sides:
        ensure_luisy1_venv()
    srcs = write_projects(sides)
    info = machine("luisy1" in sides)
    log(f"machine: {info}")
    results: dict[str, dict[str, Run]] = {}
    edits: dict[str, dict[str, Run]] = {}
    plan_rows: dict[str, dict[str, Run]] = {}
    bare: dict[int, Run] = {}

    server = PrefectServer(home=os.path.join(WORK, "prefect-home"))
    shutil.rmtree(server.home, ignore_errors=True)
    os.makedirs(server.home)
    with server:
        bench = Bench(args, srcs, server)
        bench.sides = sides
        bench.rounds = {s: args.l1_rounds if s == "luisy1" else args.rounds for s in sides}
        log("warm-up (not reported)")
        for side in sides:
            if side != "luisy1":  # imports, the server, compiled modules
                build_pair(bench, side, replace(fanin(10), name="warm-up"))

        if full:
            log("bare Prefect task runs")
            bare = {n: median_run([bench.run("prefect", "bare", {"n": n, "mode": "submit"},
                                             tag=f"bare-{n}")
                                   for _ in range(args.rounds if n == bare_n else 1)])
                    for n in sorted({bare_n, fanin_sizes[-1]})}

        for n in fanin_sizes:
            log(f"fan-in {n}")
            # the size the targets are judged on: every side the same rounds, so that each
            # round gives a paired ratio (the machine's speed drifts between rounds)
            rounds = {s: max(args.rounds, args.l1_rounds) for s in sides} \
                if n == fanin_sizes[-1] else None
            scenario_builds(bench, results, fanin(n), rounds)
        if full and args.group_size > 1 and "group_size" in build_parameters():
            n = fanin_sizes[-1]
            log(f"fan-in {n}, luisy 2 with group_size={args.group_size}")
            spec = {"module": "benchpipe.fanin", "cls": "FanIn", "params": {"n": n},
                    "build_kwargs": {"group_size": args.group_size}}
            grouped = median_run([bench.run("luisy2", "build", spec, bench.workdir("grouped"),
                                            tag=f"grouped-{n}") for _ in range(args.rounds)])
            default = results[f"fan-in {n}: first build"]
            results[f"fan-in {n}: first build, luisy 2 build(group_size={args.group_size})"] \
                = {**default, "luisy2": grouped}
        log(f"chain {chain_depth}")
        scenario_builds(bench, results, Pipeline(
            f"chain {chain_depth}", "benchpipe.chain", "Chain", {"k": chain_depth - 1},
            chain_tasks(chain_depth), None))
        for case in cases:
            log(f"{case.pipeline.name} with a code edit: {case.what}")
            scenario_edit(bench, results, edits, case)
        if full:
            for n in plan_sizes:
                log(f"planning {n}")
                scenario_plan(bench, results, plan_rows, f"fan-in {n:,}", "benchpipe.fanin",
                              "FanIn", {"n": n})
                scenario_plan(bench, results, plan_rows,
                              f"DAG {pipelines.LEVELS}x{n // pipelines.LEVELS:,}",
                              "benchpipe.dag", "DagRoot", {"w": n // pipelines.LEVELS})
            log("fingerprints")
            scenario_fingerprint(bench, results)

    big = fanin_sizes[-1]
    first = results[f"fan-in {big}: first build"]
    noop = results[f"fan-in {big}: no-op rebuild"]
    bare_rows = {
        f"bare Prefect task run: {n} no-op tasks submitted in one flow (the floor)":
            per_task(run, n) for n, run in bare.items()}
    if "prefect" in first:
        bare_rows[f"hand-written flow, fan-in {big} first build (writes a pickle)"] = \
            per_task(first["prefect"], big + 1)
    if "prefect-cached" in first:
        bare_rows.update({
            f"Prefect native caching, fan-in {big} first build (writes a pickle, persists "
            "the result)": per_task(first["prefect-cached"], big + 1),
            f"Prefect native caching, fan-in {big} no-op rebuild (a `Cached` task run)":
                per_task(noop["prefect-cached"], big + 1),
        })
    bare_rows.update({
        f"luisy 2, fan-in {big} first build, all in":
            per_task(first.get("luisy2"), big + 1),
        f"luisy 2, fan-in {big} first build, minus its no-op rebuild (planning)":
            per_task(first.get("luisy2"), big + 1, noop.get("luisy2")),
    })
    if "luisy1" in first:
        bare_rows[f"luisy 1.4.7, fan-in {big} first build, all in"] = \
            per_task(first["luisy1"], big + 1)
    targets = evaluate(results, edits, big)
    text = report(args, info, command, results, cases, edits, plan_rows, bare_rows, targets,
                  sides, time.monotonic() - began)
    with open(args.output, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    print()
    print(text)
    log(f"wrote {os.path.relpath(args.output, REPO)}")
    return 0 if all(v != "FAIL" for _, _, v in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
