"""Planning benchmark: how long ``make_plan`` takes on a DAG whose outputs all exist.

Planning is everything before the first task runs: discovering the graph through
``requires()``, fingerprinting the task classes, computing the chained keys, reading the hash
store and checking each output. No Prefect server is involved.

The DAG (``--sizes``, default 1,000 and 10,000 tasks): ``Source(i)`` x n/2, ``Combine(i)``
x n/2 each requiring ``Source(i)`` and ``Source(i+1)``, and one ``WrapperTask`` root requiring
every ``Combine``. Its outputs are written and their keys recorded first (hash-update mode),
so every plan must come out all "complete". Each measurement starts from cold caches (task
instances, fingerprints, hash store); the median of ``--repeat`` runs is reported, wall and
CPU time. The 10k target is on wall time, the 10k/1k ratio on CPU time (a 1k plan's ~50 ms of
wall time on a shared machine is mostly other processes).

    .venv/bin/python bench/bench_plan.py [--sizes 1000 10000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import sys
import tempfile
import time

import luisy
from luisy.cache import clear_cache
from luisy.planner import Decision, make_plan


@luisy.project_name("bench")
@luisy.interim
@luisy.pickle_output
class Source(luisy.Task):
    i = luisy.IntParameter()

    def run(self) -> None:
        self.write({"i": self.i})


@luisy.project_name("bench")
@luisy.final
@luisy.pickle_output
class Combine(luisy.Task):
    i = luisy.IntParameter()
    n = luisy.IntParameter()

    def requires(self) -> list[Source]:
        return [Source(i=self.i), Source(i=(self.i + 1) % self.n)]

    def run(self) -> None:
        self.write(sum(part["i"] for part in self.read_input()))


@luisy.project_name("bench")
class Everything(luisy.WrapperTask):
    n = luisy.IntParameter()

    def requires(self) -> list[Combine]:
        return [Combine(i=i, n=self.n) for i in range(self.n)]


def root_for(size: int) -> Everything:
    """A DAG of ``size`` tasks plus the root."""
    return Everything(n=size // 2)


def prepare(size: int) -> None:
    """Write every output and record its key, without running anything."""
    root = root_for(size)
    for task in {t for c in root.requires() for t in (c, *c.requires())}:
        task.output().write({"bench": True})
    summary = luisy.build(root, hash_update_mode=True)
    if not summary.ok or len(summary.adopted) + len(summary.already_done) != size:
        raise RuntimeError(f"could not record keys: {summary}")


def plan_seconds(size: int) -> tuple[float, float]:
    """Wall and CPU seconds of one cold plan: no cached task instances, fingerprints or stores."""
    gc.collect()
    clear_cache()
    start, cpu = time.perf_counter(), time.process_time()
    plan = make_plan(root_for(size))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    counts = plan.counts()
    if counts[Decision.COMPLETE.value] != size + 1:
        raise RuntimeError(f"expected {size + 1} complete tasks, got {counts}")
    return elapsed, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 10000],
                        metavar=("SMALL", "LARGE"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--target-seconds", type=float, default=2.0)
    parser.add_argument("--target-ratio", type=float, default=12.0)
    args = parser.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="luisy-bench-plan-")
    try:
        luisy.set_working_dir(tmp)
        medians: dict[int, float] = {}
        cpu_medians: dict[int, float] = {}
        for size in args.sizes:
            start = time.perf_counter()
            prepare(size)
            print(f"prepared {size} tasks in {time.perf_counter() - start:.1f}s", flush=True)
            runs = [plan_seconds(size) for _ in range(args.repeat)]
            medians[size] = statistics.median(wall for wall, _ in runs)
            cpu_medians[size] = statistics.median(cpu for _, cpu in runs)
            print(f"plan {size}: wall " + ", ".join(f"{wall:.3f}s" for wall, _ in runs)
                  + f" (median {medians[size]:.3f}s); cpu "
                  + ", ".join(f"{cpu:.3f}s" for _, cpu in runs)
                  + f" (median {cpu_medians[size]:.3f}s)", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    small, large = args.sizes
    # Scaling is judged on CPU time: a 1k plan takes ~50 ms, so on a shared machine its wall
    # time is mostly other processes' noise. The 10k time is judged on wall time.
    ratio = cpu_medians[large] / cpu_medians[small]
    wall_ratio = medians[large] / medians[small]
    ok = medians[large] <= args.target_seconds and ratio <= args.target_ratio
    print(f"plan {large}: {medians[large]:.2f}s (target <= {args.target_seconds}s), "
          f"{large}/{small} ratio {ratio:.1f} (cpu; wall {wall_ratio:.1f}; "
          f"target <= {args.target_ratio})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
