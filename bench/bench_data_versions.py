"""Data-version benchmark (issue 16): what versioning 1,000 external files costs a plan.

The pipeline: ``Delivery(i)`` x n, external files of ``--mb`` MB each (random bytes, written
once into a data folder outside the working dirs), ``Consume(i)`` reading one each, one
``WrapperTask`` root: 2n + 1 tasks. Two working dirs are prepared (hash-update mode: outputs
written, keys recorded, nothing run through Prefect): one with ``@data_version("none")`` on
``Delivery`` (luisy 1.x: no versions), one with ``"content"`` (the default, sha256 of the
bytes). Then, in this process, each measured from cold caches (task instances, fingerprints,
stores; the files stay in the page cache, as they would between two builds):

1. a plan with nothing changed, ``none`` vs ``content`` (median of ``--repeat``): the extra
   seconds (target <= 0.3 s) and the number of files read (target 0: size and mtime match);
2. after one file changed: the files read (target 1) and the decision of its reader;
3. after every file was touched (new mtime, same bytes): a plan reads them all; its seconds
   per GB, against hashing the same files with ``hashlib.file_digest`` alone in this process.

    .venv/bin/python bench/bench_data_versions.py [--files 1000] [--mb 10] [--repeat 5]
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time

import luisy
from luisy.cache import clear_cache, data_version
from luisy.planner import Decision, make_plan

#: where the delivered files live (set in main): outside both working dirs
DATA = os.environ.get("LUISY_BENCH_DATA", "")


@luisy.project_name("dvbench")
@luisy.raw
class Delivery(luisy.ExternalTask):
    i = luisy.IntParameter()

    def get_outfile(self) -> str:
        return os.path.join(DATA, f"delivery-{self.i:05d}.bin")


@luisy.project_name("dvbench")
@luisy.interim
@luisy.requires(Delivery)
class Consume(luisy.Task):
    def run(self) -> None:
        self.write(os.path.getsize(self.input().path))


@luisy.project_name("dvbench")
class Everything(luisy.WrapperTask):
    n = luisy.IntParameter()

    def requires(self) -> list[Consume]:
        return [Consume(i=i) for i in range(self.n)]


class Reads:
    """Counts the files the data versions read (the real reader, wrapped)."""

    def __init__(self) -> None:
        self.count = 0
        self._real = data_version.file_digest
        data_version.file_digest = self._counted

    def _counted(self, path: str) -> str:
        self.count += 1
        return self._real(path)


def write_files(n: int, mb: int) -> float:
    block = os.urandom(1 << 20)
    start = time.perf_counter()
    for i in range(n):
        with open(Delivery(i=i).output().path, "wb") as fh:
            fh.write(i.to_bytes(8, "little"))  # every file differs
            for _ in range(mb):
                fh.write(block)
    return time.perf_counter() - start


def use(mode: str, working_dir: str) -> None:
    Delivery.data_version_mode = mode
    luisy.set_working_dir(working_dir)


def prepare(n: int) -> None:
    root = Everything(n=n)
    for consumer in root.requires():
        consumer.output().write(0)
    summary = luisy.build(root, hash_update_mode=True)
    if not summary.ok or len(summary.adopted) != n:
        raise RuntimeError(f"could not record keys: {summary}")


def cold_plan(n: int) -> tuple[float, dict[str, int]]:
    gc.collect()
    clear_cache()
    start = time.perf_counter()
    plan = make_plan(Everything(n=n))
    return time.perf_counter() - start, plan.counts()


def main(argv: list[str] | None = None) -> int:
    global DATA
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mb", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--target-extra", type=float, default=0.3)
    args = parser.parse_args(argv)
    n = args.files
    gigabytes = n * args.mb / 1024

    tmp = tempfile.mkdtemp(prefix="luisy-bench-dv-")
    DATA = os.path.join(tmp, "data")
    os.makedirs(DATA)
    dirs = {mode: os.path.join(tmp, mode) for mode in ("none", "content")}
    reads = Reads()
    try:
        luisy.set_working_dir(dirs["none"])
        seconds = write_files(n, args.mb)
        print(f"wrote {n} files of {args.mb} MB ({gigabytes:.1f} GB) in {seconds:.1f}s",
              flush=True)
        for mode, wd in dirs.items():
            use(mode, wd)
            start = time.perf_counter()
            prepare(n)
            print(f"prepared {mode}: {time.perf_counter() - start:.1f}s", flush=True)

        medians = {}
        for mode, wd in dirs.items():
            use(mode, wd)
            reads.count = 0
            runs = [cold_plan(n) for _ in range(args.repeat)]
            complete = runs[-1][1][Decision.COMPLETE.value]
            if complete != 2 * n + 1:
                raise RuntimeError(f"{mode}: expected every task complete, got {runs[-1][1]}")
            medians[mode] = statistics.median(s for s, _ in runs)
            print(f"plan unchanged, {mode}: " + ", ".join(f"{s:.3f}s" for s, _ in runs)
                  + f" (median {medians[mode]:.3f}s); files read: {reads.count}", flush=True)
            if mode == "content" and reads.count:
                raise RuntimeError(f"an unchanged plan read {reads.count} files")
        extra = medians["content"] - medians["none"]
        print(f"data versions add {extra:+.3f}s to a plan of {2 * n + 1} tasks over {n} "
              f"files ({medians['content'] / medians['none']:.2f}x; target <= "
              f"+{args.target_extra}s)", flush=True)

        use("content", dirs["content"])
        with open(Delivery(i=0).output().path, "r+b") as fh:
            fh.write(b"changed!")
        reads.count = 0
        _, counts = cold_plan(n)
        print(f"one file changed: files read {reads.count}, plan {counts}", flush=True)
        one_ok = reads.count == 1 and counts[Decision.RUN.value] == 2  # Consume(0), root

        for i in range(n):  # new mtime, same bytes: each file must be read again
            path = Delivery(i=i).output().path
            os.utime(path, ns=(time.time_ns(), time.time_ns()))
        reads.count = 0
        seconds, counts = cold_plan(n)
        start = time.perf_counter()
        for i in range(n):
            with open(Delivery(i=i).output().path, "rb") as fh:
                hashlib.file_digest(fh, "sha256")
        baseline = time.perf_counter() - start
        print(f"every file touched: plan read {reads.count} files in {seconds:.2f}s = "
              f"{seconds / gigabytes:.2f} s/GB; hashlib alone {baseline / gigabytes:.2f} s/GB "
              f"(ratio {seconds / baseline:.2f})", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if extra <= args.target_extra and one_ok else 1


if __name__ == "__main__":
    sys.exit(main())
