"""Run one luisy build, or report a plan, in this (fresh) process.

    python driver.py build --wd WD --root fltpkg.tasks:Root [--workers 2] [--wait-go]
                           [--barrier DIR --parties N]
    python driver.py check --wd WD --root fltpkg.tasks:Root

``build`` runs ``luisy.build(Root(), working_dir=WD, workers=2)`` and exits 0 if the summary
is ok, else 1; its last line is ``SUMMARY <json>``. With ``--wait-go`` it imports luisy and
Prefect, prints ``READY``, waits for a line on stdin, and only then imports the task module
(so the module is read from disk as it is at that moment) and prints ``GO`` right before the
build. With ``--barrier`` it waits, right before the build, until ``N`` processes have
announced themselves in ``DIR``, so concurrent builds start together.

``check`` prints ``PLAN <json>``: the task module's file and, for every task of the plan, its
decision, reason, whether its output exists and the ``version`` found in the output (None
without output). It runs no flow.

The task module is found on ``PYTHONPATH`` (the test's copy of ``fltpkg``).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time

# the script's own folder holds the original ``fltpkg``: the copy on PYTHONPATH must win
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]


def load_root(spec: str):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)()


def output_version(task) -> tuple[bool, str | None]:
    out = task.output()
    if out is None or not out.exists():
        return False, None
    try:
        payload = out.read()
    except Exception as exc:  # a half-written or foreign file: report it, do not crash
        return True, f"<unreadable: {type(exc).__name__}: {exc}>"
    if isinstance(payload, dict):
        return True, payload.get("version")
    return True, f"<no version in {type(payload).__name__}>"


def check(args: argparse.Namespace) -> int:
    import luisy

    luisy.set_working_dir(args.wd)
    plan = luisy.plan(load_root(args.root))
    rows = []
    for task, step in plan.steps.items():
        exists, version = output_version(task)
        rows.append({"task": str(task), "decision": step.decision.value,
                     "reason": step.reason, "exists": exists, "version": version})
    module = sys.modules[type(plan.root).__module__]
    print("PLAN " + json.dumps({"module_file": module.__file__, "steps": rows}), flush=True)
    return 0


def wait_for_barrier(folder: str, parties: int, timeout: float = 120) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"ready-{os.getpid()}"), "w"):
        pass
    deadline = time.monotonic() + timeout
    while len([n for n in os.listdir(folder) if n.startswith("ready-")]) < parties:
        if time.monotonic() > deadline:
            raise SystemExit(f"barrier {folder}: fewer than {parties} parties after {timeout}s")
        time.sleep(0.002)


def build(args: argparse.Namespace) -> int:
    # what a build needs, imported before the clock of a --wait-go caller starts
    import prefect.flow_engine
    import prefect.task_engine
    import prefect.task_runners  # noqa: F401

    import luisy
    import luisy.planner
    import luisy.runner

    if args.wait_go:
        print("READY", flush=True)
        if not sys.stdin.readline():
            return 2  # the test went away
    root = load_root(args.root)
    if args.barrier:
        wait_for_barrier(args.barrier, args.parties)
    print(f"GO {time.monotonic_ns()} {sys.modules[type(root).__module__].__file__}", flush=True)
    summary = luisy.build(root, working_dir=args.wd, workers=args.workers)
    names = {kind: sorted(str(t) for t in getattr(summary, kind, ()))
             for kind in ("completed", "already_done", "failed", "upstream_failed",
                          "missing_external", "not_needed")}
    errors = getattr(summary, "errors", {}) or {}
    print("SUMMARY " + json.dumps({
        "ok": bool(summary.ok), **names, "flow_error": getattr(summary, "flow_error", None),
        "errors": {str(t): str(e) for t, e in errors.items()}}), flush=True)
    return 0 if summary.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["build", "check"])
    parser.add_argument("--wd", required=True)
    parser.add_argument("--root", default="fltpkg.tasks:Root")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--wait-go", action="store_true")
    parser.add_argument("--barrier")
    parser.add_argument("--parties", type=int, default=1)
    args = parser.parse_args(argv)
    return check(args) if args.mode == "check" else build(args)


if __name__ == "__main__":
    sys.exit(main())
