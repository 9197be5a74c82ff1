"""Cloud-sync benchmark (issue 17): downloading 1,000 outputs against adlfs copying the bytes.

One process, a throwaway Prefect server and an Azurite blob service (``luisy.testing``), both
on 127.0.0.1. The pipeline: ``Leaf(i)`` x ``--outputs``, ``@luisy.interim`` pickles of
``--kb`` KB of random bytes each, under a ``WrapperTask`` root (a root without an output: one
with an output the remote holds would be downloaded alone, its inputs not needed).

1. **machine A** (a working dir): ``luisy.build(root, upload=True, remote=URL)`` computes
   every leaf and uploads it to a new container (timed, not judged);
2. **machine B** (a fresh working dir, luisy's caches cleared: a new machine's first build):
   ``luisy.build(root, download=True, remote=URL, workers=8)``; every leaf must come out
   downloaded. Timed whole: planning (the remote's index read, its folder listed), the
   transfers (``luisy.remote.sync.TRANSFERS`` bulk gets of ``CHUNK`` outputs at once), one
   ``Downloaded`` task run per output putting its bytes in place and recording its key, the
   flow's end;
3. **adlfs alone**: ``fs.get("<container>/team/cloudbench/interim/", <fresh folder>,
   recursive=True)`` with a new ``AzureBlobFileSystem`` (no listing cache): the same bytes,
   listed and fetched with fsspec's own concurrency, nothing checked or recorded.

``--rounds`` > 1 repeats 2 and 3, alternating which goes first, and compares the medians.
Printed: both times, luisy/adlfs (target <= 1.5), the outputs and MB, and where luisy's time
went: before the first transfer, the transfer window (first fetch started to last fetch
done), after it; the listings luisy made of the remote (``Remote.stats``).

Prefect's flow-run heartbeats are off (``--heartbeats`` keeps them on): with them every flow
run lasts a whole number of seconds plus ~0.1 s (see ``bench_fanin.py``).

    .venv/bin/python bench/bench_cloud_sync.py [--outputs 1000] [--kb 100] [--rounds 1]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from typing import Any

from _worker import heartbeats

import luisy
from luisy.cache import clear_cache
from luisy.remote import sync
from luisy.testing.server import PrefectServer
from luisy.testing.storage import Azurite

PROJECT = "cloudbench"
#: same as bench_fanin: no INFO lines on the console or shipped to the API
QUIET_LOGS = {"PREFECT_LOGGING_LEVEL": "WARNING"}


@luisy.project_name(PROJECT)
@luisy.interim
class Leaf(luisy.Task):
    i = luisy.IntParameter()
    size = luisy.IntParameter(default=100 * 1024)

    def run(self) -> None:
        self.write(os.urandom(self.size))


@luisy.project_name(PROJECT)
class Everything(luisy.WrapperTask):
    n = luisy.IntParameter()
    size = luisy.IntParameter(default=100 * 1024)

    def requires(self) -> list[Leaf]:
        return [Leaf(i=i, size=self.size) for i in range(self.n)]


class Probe:
    """What luisy's remote did during a build: when each chunk of fetches started and ended,
    and the remote's listings (the real methods, wrapped)."""

    def __init__(self) -> None:
        self.fetches: list[tuple[float, float]] = []
        self.stats: dict[str, int] = {}
        fetch, close = sync.Remote._fetch_chunk, sync.Remote.close
        probe = self

        def timed_fetch(remote: sync.Remote, *args: Any) -> Any:
            start = time.perf_counter()
            try:
                return fetch(remote, *args)
            finally:
                probe.fetches.append((start, time.perf_counter()))

        def closing(remote: sync.Remote) -> None:
            probe.stats = remote.stats()
            close(remote)

        sync.Remote._fetch_chunk = timed_fetch  # type: ignore[method-assign]
        sync.Remote.close = closing  # type: ignore[method-assign]

    def reset(self) -> None:
        self.fetches, self.stats = [], {}


def folder_bytes(path: str) -> tuple[int, int]:
    """Files below ``path`` and their bytes."""
    files = size = 0
    for folder, _, names in os.walk(path):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(folder, name))
    return files, size


def run_luisy(root: luisy.Task, n: int, url: str, wd: str, workers: int, group_size: int,
              probe: Probe) -> tuple[float, str]:
    """Seconds of machine B's download build, and where they went."""
    clear_cache()
    probe.reset()
    start = time.perf_counter()
    summary = luisy.build(root, working_dir=wd, download=True, remote=url, workers=workers,
                          group_size=group_size)
    end = time.perf_counter()
    leaves = [t for t in summary.downloaded if isinstance(t, Leaf)]
    if not summary.ok or len(leaves) != n:
        raise RuntimeError(f"download build: ok={summary.ok}, {len(leaves)} of {n} leaves "
                           f"downloaded: {summary}")
    files, _ = folder_bytes(os.path.join(wd, PROJECT, "interim"))
    if files != n:
        raise RuntimeError(f"download build: {files} files in place, expected {n}")
    first = min(s for s, _ in probe.fetches)
    last = max(e for _, e in probe.fetches)
    return end - start, (f"before the first fetch {first - start:.2f}s, fetches "
                         f"{last - first:.2f}s, after the last {end - last:.2f}s; "
                         f"listings {probe.stats.get('listings')}")


def run_adlfs(connection_string: str, source: str, target: str, n: int) -> float:
    """Seconds of adlfs's bulk get of the outputs' folder into a fresh folder."""
    import fsspec

    fs, _ = fsspec.core.url_to_fs("abfs://x", connection_string=connection_string,
                                  skip_instance_cache=True)
    start = time.perf_counter()
    fs.get(source, target, recursive=True)
    seconds = time.perf_counter() - start
    files, _ = folder_bytes(target)
    if files != n:
        raise RuntimeError(f"adlfs get: {files} files, expected {n}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=int, default=1000)
    parser.add_argument("--kb", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--group-size", type=int, default=1,
                        help="luisy.build's group_size: downloads of one class per task run")
    parser.add_argument("--target", type=float, default=1.5)
    parser.add_argument("--heartbeats", action="store_true",
                        help="keep Prefect's flow-run heartbeats on")
    args = parser.parse_args(argv)
    n = args.outputs
    root = Everything(n=n, size=args.kb * 1024)

    tmp = tempfile.mkdtemp(prefix="luisy-bench-cloud-")
    server = PrefectServer(home=os.path.join(tmp, "prefect-home"), extra_env=QUIET_LOGS)
    os.makedirs(server.home)
    os.environ.update({**server.env, **QUIET_LOGS})  # before prefect is imported
    counter = iter(range(10**6))

    def fresh_dir(name: str) -> str:
        path = os.path.join(tmp, f"{name}-{next(counter)}")
        os.makedirs(path)
        return path

    probe = Probe()
    times: dict[str, list[float]] = {"luisy": [], "adlfs": []}
    try:
        with server, Azurite() as azurite, heartbeats(args.heartbeats):
            import fsspec

            os.environ["AZURE_STORAGE_CONNECTION_STRING"] = azurite.connection_string
            container = f"bench-{uuid.uuid4().hex[:10]}"
            fs, _ = fsspec.core.url_to_fs("abfs://x", **azurite.remote_options)
            fs.mkdir(container)
            url = f"abfs://{container}/team"

            start = time.perf_counter()
            summary = luisy.build(root, working_dir=fresh_dir("machine-a"), upload=True,
                                  remote=url, workers=args.workers)
            seconds = time.perf_counter() - start
            uploaded = [t for t in summary.uploaded if isinstance(t, Leaf)]
            if not summary.ok or len(uploaded) != n:
                raise RuntimeError(f"upload build: ok={summary.ok}, {len(uploaded)} of {n} "
                                   f"leaves uploaded: {summary}")
            source = f"{container}/team/{PROJECT}/interim/"
            total = sum(info["size"] for info in fs.ls(source, detail=True))
            mb = total / 2**20
            print(f"machine A: built and uploaded {n} outputs ({mb:.1f} MB) in "
                  f"{seconds:.2f}s", flush=True)

            sides = {
                "luisy": lambda: run_luisy(root, n, url, fresh_dir("machine-b"),
                                           args.workers, args.group_size, probe),
                "adlfs": lambda: (run_adlfs(azurite.connection_string, source,
                                            fresh_dir("adlfs"), n), "fs.get, recursive"),
            }
            for rnd in range(args.rounds):
                order = ["luisy", "adlfs"] if rnd % 2 == 0 else ["adlfs", "luisy"]
                for name in order:
                    seconds, detail = sides[name]()
                    times[name].append(seconds)
                    print(f"  {name}: {seconds:.2f}s ({detail})", flush=True)
                print(f"round {rnd + 1}: luisy {times['luisy'][-1]:.2f}s, adlfs "
                      f"{times['adlfs'][-1]:.2f}s, ratio "
                      f"{times['luisy'][-1] / times['adlfs'][-1]:.2f}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    luisy_s, adlfs_s = statistics.median(times["luisy"]), statistics.median(times["adlfs"])
    ratio = luisy_s / adlfs_s
    print(f"download {n} outputs ({mb:.1f} MB): luisy {luisy_s:.2f}s "
          f"({mb / luisy_s:.1f} MB/s), adlfs alone {adlfs_s:.2f}s ({mb / adlfs_s:.1f} MB/s), "
          f"ratio {ratio:.2f} (target <= {args.target}; medians of {args.rounds} round(s), "
          f"workers={args.workers}, group_size={args.group_size}, "
          f"transfers={sync.TRANSFERS}x{sync.CHUNK}, heartbeats "
          f"{'on' if args.heartbeats else 'off'})")
    return 0 if ratio <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
