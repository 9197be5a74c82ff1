"""luisy 2 against luisy 1.4.7 and a hand-written Prefect flow, side by side, in one command.

    .venv/bin/python bench/run_all.py

Creates the luisy 1.4.7 venv (``bench/.venv-luisy1``) if missing, writes the same pipelines
for both luisy versions (``bench/_pipelines.py``) under ``bench/_work/``, starts one Prefect
server, runs every scenario at every size, writes ``bench/RESULTS.md`` and prints its tables.

Each measurement is a fresh process (``bench/_worker.py``): luisy 2 and the hand-written Prefect
flow with the luisy 2 venv's python, luisy 1.4.7 with its own venv's. The time reported first is
measured inside that process around ``build(...)`` (imports done before the clock starts); the
process's wall time (imports, interpreter start and exit, Prefect's event flush at exit) is
reported separately. Between runs the Prefect server is left to record everything the last
run sent (not timed), so no run pays for the previous one's backlog. ``workers=1`` everywhere
(luisy 1.x's ``build()`` runs luigi with one worker whatever it is given).

Scenarios: fan-in of N trivial tasks (first build, no-op rebuild), a chain of depth 200, a
1,000-task DAG (10 levels x 100) rebuilt after an edit of one mid-level task class, planning at
1k and 10k tasks, fingerprints of 200 task classes, and a bare Prefect task run (the floor).

Options: ``--quick`` (small sizes, to try the harness), ``--l1-timeout`` (seconds before a luisy
1.x process is stopped and reported as ``>T s``), ``--rounds`` (repeats of the fan-in and chain
runs, medians reported), ``--no-luisy1``, ``--output``.
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
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "src"))

import _pipelines as pipelines  # noqa: E402
from luisy1_venv import L1_PYTHON, ensure_luisy1_venv, pip_install  # noqa: E402

from luisy.testing.server import PrefectServer  # noqa: E402

WORK = os.path.join(HERE, "_work")
WORKER = os.path.join(HERE, "_worker.py")
SIDES = ("luisy2", "luisy1", "prefect")
LABEL = {"luisy2": "luisy 2", "luisy1": "luisy 1.4.7", "prefect": "Prefect hand-written"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------ set-up
def write_projects() -> dict[str, str]:
    """A fresh copy of the pipelines for each luisy; the 1.x one pip-installed (editable)."""
    srcs = {}
    for side in ("luisy2", "luisy1"):
        root = os.path.join(WORK, f"{side}-project")
        shutil.rmtree(root, ignore_errors=True)
        srcs[side] = pipelines.write_project(root)
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


def machine() -> dict[str, str]:
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
    return {
        "cores": str(os.cpu_count()),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "cpu": cpu,
        "python": platform.python_version(),
        "prefect": version(sys.executable, "prefect"),
        "luisy2": f"{version(sys.executable, 'luisy')} (git {rev}"
                  f"{', uncommitted changes in src/' if dirty else ''})",
        "luisy1": version(L1_PYTHON, "luisy"),
        "luigi": version(L1_PYTHON, "luigi"),
    }


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
            env["PYTHONPATH"] = self.srcs["luisy2"]
        return env

    def run(self, side: str, op: str, spec: dict, workdir: str | None = None,
            timeout: float | None = None, tag: str = "", wrap: list[str] | None = None) -> Run:
        self.counter += 1
        tag = "".join(c if c.isalnum() else "-" for c in tag)
        name = f"{self.counter:03d}-{side}-{op}{'-' + tag if tag else ''}"
        spec = {**spec, "side": "prefect" if op in ("flow", "bare") else side, "op": op,
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


def build_pair(bench: Bench, side: str, label: str, module: str, cls: str, params: dict,
               hand_tasks: list, wrapper: str | None) -> tuple[Run, Run, str]:
    """First build and no-op rebuild of one side in a fresh working dir."""
    wd = bench.workdir(f"{label}-{side}")
    if side == "prefect":
        spec = {"tasks": hand_tasks, "wrapper": wrapper, "outdir": wd}
        first = bench.run(side, "flow", spec, tag=f"{label}-first")
        noop = bench.run(side, "flow", {**spec, "skip_existing": True}, tag=f"{label}-noop")
    else:
        spec = {"module": module, "cls": cls, "params": params}
        first = bench.run(side, "build", spec, wd, tag=f"{label}-first")
        noop = bench.run(side, "build", spec, wd, tag=f"{label}-noop") \
            if first.seconds is not None else Run(None, None, timeout=first.timeout,
                                                  error=first.error)
    return first, noop, wd


def scenario_builds(bench: Bench, results: dict, name: str, module: str, cls: str,
                    params: dict, hand_tasks: list, wrapper: str | None,
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
            first, noop, _ = build_pair(bench, side, name, module, cls, params, hand_tasks,
                                        wrapper)
            firsts[side].append(first)
            noops[side].append(noop)
    results[f"{name}: first build"] = {s: median_run(r) for s, r in firsts.items()}
    results[f"{name}: no-op rebuild"] = {s: median_run(r) for s, r in noops.items()}


def _edit_round(bench: Bench, side: str, width: int, hand: list, affected: set[str]
                ) -> tuple[Run, Run, Run]:
    """First build, no-op rebuild, then the edit of L5 and the rebuild (Prefect: a flow of
    exactly the affected tasks); the rebuild's data says which outputs it rewrote."""
    if side == "prefect":
        first, noop, wd = build_pair(bench, side, "dag", "", "", {}, hand, "DagRoot")
        subset = [(s, [d for d in deps if d in affected]) for s, deps in hand if s in affected]
        before = outputs(wd)
        rerun = bench.run(side, "flow", {"tasks": subset, "wrapper": "DagRoot", "outdir": wd},
                          tag="dag-rerun-affected")
        after = outputs(wd)
    else:
        first, noop, wd = build_pair(bench, side, "dag", "benchpipe.dag", "DagRoot",
                                     {"w": width}, hand, None)
        if first.seconds is None:
            return first, noop, Run(None, None, timeout=first.timeout, error=first.error)
        pipelines.edit_dag(bench.srcs[side])
        before = outputs(wd)
        try:
            rerun = bench.run(side, "build", {"module": "benchpipe.dag", "cls": "DagRoot",
                                              "params": {"w": width}}, wd, tag="dag-after-edit")
        finally:
            pipelines.write_project(os.path.dirname(bench.srcs[side]))  # undo the edit
        after = outputs(wd)
    stems = {os.path.splitext(os.path.basename(p))[0]: p for p in before}
    changed = {s for s, p in stems.items() if p in after and after[p] != before[p]}
    missing = {s for s, p in stems.items() if p not in after}
    rerun.data.update({
        "outputs_rewritten": len(changed),
        "outputs_deleted": len(missing),
        "exactly_affected": changed == affected and not missing,
        "affected": len(affected),
        "rewritten_levels": sorted({s.split("_")[0] for s in changed}),
    })
    log(f"  {LABEL[side]} after the edit: {len(changed)} outputs rewritten "
        f"(levels {rerun.data['rewritten_levels']}), {len(missing)} deleted; "
        f"affected: {len(affected)}")
    return first, noop, rerun


def scenario_edit(bench: Bench, results: dict, edit: dict, width: int) -> None:
    """10 x width DAG: first build, no-op, edit L5's code, rebuild; which outputs changed."""
    name = f"DAG {pipelines.LEVELS}x{width}"
    hand = pipelines.dag_tasks(width)
    affected = {stem for stem, _ in hand if int(stem[1:stem.index("_")]) >=
                pipelines.EDITED_LEVEL}
    runs: dict[str, list[tuple[Run, Run, Run]]] = {s: [] for s in bench.sides}
    for rnd in range(max(bench.rounds.values())):
        order = bench.sides if rnd % 2 == 0 else tuple(reversed(bench.sides))
        for side in order:
            if rnd >= bench.rounds[side] or (runs[side] and runs[side][-1][0].timeout):
                continue
            runs[side].append(_edit_round(bench, side, width, hand, affected))
    for i, label in enumerate(("first build", "no-op rebuild", "rebuild after editing L5")):
        results[f"{name}: {label}"] = {s: median_run([r[i] for r in rs])
                                       for s, rs in runs.items()}
    for side, rs in runs.items():
        rerun = results[f"{name}: rebuild after editing L5"][side]
        rerun.data["exactly_affected"] = all(r[2].data.get("exactly_affected") for r in rs)
        edit[side] = rerun


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


def report(args: argparse.Namespace, info: dict, command: str, results: dict,
           edit: dict, plan_rows: dict, bare: dict, targets: list, sides: tuple,
           elapsed: float) -> str:
    out = [
        "# Benchmarks: luisy 2 vs luisy 1.4.7 vs a hand-written Prefect flow",
        "",
        "Generated by `bench/run_all.py`; do not edit by hand (rerun the command).",
        "",
        f"- date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: {info['cores']} cores ({info['cpu']}), {info['memory']} memory, "
        f"Python {info['python']}",
        f"- luisy 2: {info['luisy2']}, Prefect {info['prefect']} (one local "
        "`prefect server start`, SQLite)",
        f"- luisy 1.4.7: luisy {info['luisy1']}, luigi {info['luigi']} (venv "
        "`bench/.venv-luisy1`)",
        f"- command: `{command}` ({elapsed / 60:.1f} min)",
        "",
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
          "a quiet machine).",
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
    if edit:
        out += [
            "## Rerun after a code edit",
            "",
            f"`DagRoot(w)`: {pipelines.LEVELS} levels of `w` tasks, each `Lk(i)` requiring "
            f"`L(k-1)(i)` and `L(k-1)(i+1 mod w)`. After the first build, one statement is "
            f"added to `L{pipelines.EDITED_LEVEL}.run`; the affected tasks are "
            f"L{pipelines.EDITED_LEVEL}..L{pipelines.LEVELS - 1} (their outputs depend on "
            "L5's). Counted from output files rewritten / deleted by the rebuild. The Prefect "
            "column runs exactly the affected tasks, listed by hand (a flow has no notion of "
            "code changes): the floor for that rerun.",
            "",
            "| side | rebuild (s) | outputs rewritten | levels rewritten | outputs deleted "
            "| exactly the affected tasks |",
            "|---|---|---|---|---|---|",
        ]
        for side, run in edit.items():
            d = run.data
            out.append(f"| {LABEL[side]} | {run.show()} | {d.get('outputs_rewritten', '')} "
                       f"of {d.get('affected', '')} affected | "
                       f"{', '.join(d.get('rewritten_levels', [])) or '-'} | "
                       f"{d.get('outputs_deleted', '')} | "
                       f"{'yes' if d.get('exactly_affected') else 'no'} |")
        out.append("")
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


def evaluate(results: dict, edit: dict, fanin_big: int) -> list[tuple[str, str, str]]:
    targets = []
    for kind in ("first build", "no-op rebuild"):
        row = results.get(f"fan-in {fanin_big}: {kind}", {})
        l2, l1 = row.get("luisy2"), row.get("luisy1")
        if l2 is None or l1 is None:
            continue
        if l2.seconds is None:
            verdict, measured = "FAIL", f"luisy 2 {l2.show()}"
        elif l1.seconds is None and l1.timeout is not None:
            verdict = "PASS" if l2.seconds <= 0.5 * l1.timeout else "FAIL"
            measured = f"{l2.seconds:.2f} s vs >{l1.timeout:.0f} s"
        elif l1.seconds is None:
            verdict, measured = "n/a", "luisy 1.4.7 failed"
        else:
            r = l2.seconds / l1.seconds
            measured = f"medians {l2.seconds:.2f} s vs {l1.seconds:.2f} s = {r:.2f}x " \
                       f"(wall {ratio(l2, l1, 'wall')}x)"
            pairs = list(zip(l2.data.get("all_seconds", []), l1.data.get("all_seconds", []),
                             strict=False))
            if len(pairs) > 1:  # the same round: the same state of the machine
                per_round = [a / b for a, b in pairs]
                r = statistics.median(per_round)
                measured += "; per round " + ", ".join(f"{x:.2f}" for x in per_round) + \
                    f", median {r:.2f}x"
            verdict = "PASS" if r <= 0.5 else "FAIL"
        targets.append((f"{kind} of {fanin_big:,} trivial tasks <= 0.5x luisy 1.4.7",
                        measured, verdict))
    if "luisy2" in edit:
        d = edit["luisy2"].data
        targets.append((
            "rerun after a mid-level edit touches only the affected tasks",
            f"luisy 2 rewrote {d.get('outputs_rewritten')} outputs (levels "
            f"{', '.join(d.get('rewritten_levels', []))}), deleted "
            f"{d.get('outputs_deleted')}; affected: {d.get('affected')}",
            "PASS" if d.get("exactly_affected") else "FAIL"))
    for name, row in results.items():
        if name.startswith(f"fan-in {fanin_big}: first build, luisy 2 build(") and \
                row["luisy2"].seconds and row.get("luisy1") and row["luisy1"].seconds:
            r = row["luisy2"].seconds / row["luisy1"].seconds
            option = name.split("luisy 2 ", 1)[1]
            targets.append((f"(opt-in) first build of {fanin_big:,} with {option} <= 0.5x "
                            "luisy 1.4.7", f"{row['luisy2'].seconds:.2f} s = {r:.2f}x",
                            "PASS" if r <= 0.5 else "FAIL"))
    row = results.get(f"fan-in {fanin_big}: first build", {})
    if row.get("luisy2") and row.get("prefect") and row["luisy2"].seconds and \
            row["prefect"].seconds:
        r = row["luisy2"].seconds / row["prefect"].seconds
        targets.append((f"first build of {fanin_big:,}: close to the Prefect floor "
                        "(luisy2 / hand-written flow <= 1.2, the bench_fanin target)",
                        f"{r:.2f}x", "PASS" if r <= 1.2 else "FAIL"))
    return targets


# ------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: try the harness")
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
    parser.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"))
    args = parser.parse_args(argv)
    # SIGTERM (a timeout, a CI stop) ends like Ctrl-C: the server and the worker are stopped
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    command = shlex.join([os.path.relpath(sys.executable, REPO) if sys.executable.startswith(
        REPO) else sys.executable, os.path.relpath(os.path.abspath(__file__), REPO),
        *(argv if argv is not None else sys.argv[1:])])
    began = time.monotonic()

    fanin_sizes = [20, 100] if args.quick else [100, 1000, 3000]
    chain_depth = 20 if args.quick else 200
    width = 10 if args.quick else 100
    plan_sizes = [100, 1000] if args.quick else [1000, 10000]
    bare_n = 100 if args.quick else 1000

    os.makedirs(WORK, exist_ok=True)
    sides = ("luisy2", "prefect") if args.no_luisy1 else ("luisy2", "prefect", "luisy1")
    if not args.no_luisy1:
        ensure_luisy1_venv()
    srcs = write_projects()
    info = machine()
    log(f"machine: {info}")
    results: dict[str, dict[str, Run]] = {}
    edit: dict[str, Run] = {}
    plan_rows: dict[str, dict[str, Run]] = {}
    bare_rows: dict[str, str] = {}

    server = PrefectServer(home=os.path.join(WORK, "prefect-home"))
    shutil.rmtree(server.home, ignore_errors=True)
    os.makedirs(server.home)
    with server:
        bench = Bench(args, srcs, server)
        bench.sides = sides
        bench.rounds = {"luisy2": args.rounds, "prefect": args.rounds,
                        "luisy1": args.l1_rounds}
        log("warm-up (not reported)")
        bench.run("luisy2", "build", {"module": "benchpipe.fanin", "cls": "FanIn",
                                      "params": {"n": 10}}, bench.workdir("warmup"), tag="warm")
        bench.run("prefect", "flow", {"tasks": fanin_tasks(10), "wrapper": "FanIn",
                                      "outdir": bench.workdir("warmup-prefect")}, tag="warm")

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
            scenario_builds(bench, results, f"fan-in {n}", "benchpipe.fanin", "FanIn",
                            {"n": n}, fanin_tasks(n), "FanIn", rounds)
        if args.group_size > 1 and "group_size" in build_parameters():
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
        scenario_builds(bench, results, f"chain {chain_depth}", "benchpipe.chain", "Chain",
                        {"k": chain_depth - 1}, chain_tasks(chain_depth), None)
        log(f"DAG {pipelines.LEVELS}x{width} with a code edit")
        scenario_edit(bench, results, edit, width)
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
    bare_rows.update({
        f"hand-written flow, fan-in {big} first build (writes a pickle)":
            per_task(first.get("prefect"), big + 1),
        f"luisy 2, fan-in {big} first build, all in":
            per_task(first.get("luisy2"), big + 1),
        f"luisy 2, fan-in {big} first build, minus its no-op rebuild (planning)":
            per_task(first.get("luisy2"), big + 1, noop.get("luisy2")),
    })
    if "luisy1" in first:
        bare_rows[f"luisy 1.4.7, fan-in {big} first build, all in"] = \
            per_task(first["luisy1"], big + 1)
    targets = evaluate(results, edit, big)
    text = report(args, info, command, results, edit, plan_rows, bare_rows, targets, sides,
                  time.monotonic() - began)
    with open(args.output, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    print()
    print(text)
    log(f"wrote {os.path.relpath(args.output, REPO)}")
    return 0 if all(v != "FAIL" for _, _, v in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
