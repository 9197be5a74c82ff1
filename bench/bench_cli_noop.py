"""The whole process of a no-op CLI rebuild: luisy 2's ``luisy`` command against luisy 1.4.7's.

Both commands build ``benchpipe.fanin.FanIn(n=3000)`` (the pipeline of ``bench/_pipelines.py``,
whose module imports only luisy) in a working dir where every output exists and its key is
recorded, so nothing runs: what is timed is interpreter start, imports, the graph, the
fingerprints, reading the recorded keys and printing the plan. Outputs are written directly
and adopted with each side's own ``--hash-update-mode`` (no Prefect server is needed: a no-op
rebuild never starts a flow). Rounds alternate which side goes first; the medians are
compared. luisy 1.4.7 runs in its own venv (``bench/.venv-luisy1``, made by ``run_all.py``).

    .venv/bin/python bench/bench_cli_noop.py [--tasks 3000] [--rounds 5] [--target 0.25]
"""
from __future__ import annotations

import argparse
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import luisy1_venv
import run_all

HERE = os.path.dirname(os.path.abspath(__file__))
LUISY2 = os.path.join(os.path.dirname(sys.executable), "luisy")
LUISY1 = os.path.join(luisy1_venv.L1_VENV, "bin", "luisy")


def command(side: str, n: int, workdir: str, *extra: str) -> list[str]:
    # luisy 1.4.7's own options take abbreviations, so its `--n` is `--no-ask`: the task
    # parameter is given in luigi's class-qualified form there, with luigi's local scheduler
    # as its docs say
    if side == "luisy2":
        return [LUISY2, "--module", "benchpipe.fanin", "FanIn", "--n", str(n),
                "--working-dir", workdir, "--no-ask", *extra]
    return [LUISY1, "--module", "benchpipe.fanin", "FanIn", "--FanIn-n", str(n),
            "--local-scheduler", "--working-dir", workdir, "--no-ask", *extra]


def env_for(side: str, srcs: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if side == "luisy2":  # luisy 1.4.7 has the package pip-installed (editable)
        env["PYTHONPATH"] = srcs["luisy2"]
    return env


def prepare(side: str, n: int, workdir: str, srcs: dict[str, str]) -> None:
    """Every leaf's output on disk, its key recorded by the side's own hash-update mode."""
    folder = os.path.join(workdir, "benchpipe", "interim")
    os.makedirs(folder)
    for i in range(n):
        with open(os.path.join(folder, f"Leaf_i={i}.pkl"), "wb") as fh:
            pickle.dump({"value": 1}, fh)
    subprocess.run(command(side, n, workdir, "--hash-update-mode"), env=env_for(side, srcs),
                   check=True, capture_output=True, cwd=workdir)


def timed(side: str, n: int, workdir: str, srcs: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command(side, n, workdir), env=env_for(side, srcs),
                          capture_output=True, text=True, cwd=workdir)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{side} no-op rebuild failed:\n{done.stdout}\n{done.stderr}")
    if side == "luisy2" and f"{n + 1} complete" not in done.stdout:
        raise RuntimeError(f"luisy 2 did not find every task complete:\n{done.stdout}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--target", type=float, default=0.25)
    args = parser.parse_args(argv)
    run_all.ensure_luisy1_venv()
    srcs = run_all.write_projects()
    tmp = tempfile.mkdtemp(prefix="luisy-bench-cli-")
    try:
        dirs = {side: os.path.join(tmp, side) for side in ("luisy2", "luisy1")}
        for side, workdir in dirs.items():
            prepare(side, args.tasks, workdir, srcs)
            timed(side, args.tasks, workdir, srcs)  # warm-up: file caches, .pyc files
        times: dict[str, list[float]] = {side: [] for side in dirs}
        for rnd in range(args.rounds):
            order = list(dirs) if rnd % 2 == 0 else list(reversed(dirs))
            for side in order:
                times[side].append(timed(side, args.tasks, dirs[side], srcs))
            print(f"round {rnd + 1}: luisy 2 {times['luisy2'][-1]:.2f}s, luisy 1.4.7 "
                  f"{times['luisy1'][-1]:.2f}s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    l2, l1 = statistics.median(times["luisy2"]), statistics.median(times["luisy1"])
    ratio = l2 / l1
    print(f"no-op CLI rebuild of {args.tasks:,} tasks, whole process: luisy 2 {l2:.2f}s, "
          f"luisy 1.4.7 {l1:.2f}s, ratio {ratio:.2f} (target <= {args.target}; medians of "
          f"{args.rounds} rounds)")
    return 0 if ratio <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
