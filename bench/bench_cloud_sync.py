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
   transfers (``luisy.remote.sync.TRANSFERS`` bulk gets of ``CHUNK`` outputs at once), the
   ``Downloaded`` task runs (up to ``--download-group-size`` outputs each, luisy's default
   100) putting the bytes in place and recording their keys, the flow's end;
3. **adlfs alone**: ``fs.get("<container>/team/cloudbench/interim/", <fresh folder>,
   recursive=True)`` with a new ``AzureBlobFileSystem`` (no listing cache): the same bytes,
   listed and fetched with fsspec's own concurrency, nothing checked or recorded.

4. **the Prefect floor** (``--floor``): what any download build with one task run per output
   (issue 17's ``Downloaded`` state) costs at least: a hand-written Prefect flow whose 1,000
   task runs do nothing but end in a state named ``Downloaded`` (luisy's task settings: no
   cache, no persisted result), while the same adlfs bulk get runs beside them in a thread. No
   hash store, no checksum, no asset event: floor/adlfs is the best ratio that per-output task
   runs allow on this machine, whatever luisy does.

``--rounds`` > 1 repeats 2 to 4, alternating which goes first, and compares the medians.
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


def run_luisy(root: luisy.Task, n: int, url: str, wd: str, workers: int,
              group_size: int | None, probe: Probe) -> tuple[float, str]:
    """Seconds of machine B's download build, and where they went."""
    clear_cache()
    probe.reset()
    start = time.perf_counter()
    summary = luisy.build(root, working_dir=wd, download=True, remote=url, workers=workers,
                          download_group_size=group_size)
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


def run_floor(connection_string: str, source: str, target: str, n: int,
              workers: int) -> float:
    """Seconds of the Prefect floor: ``n`` task runs ending ``Downloaded`` in one flow, the
    adlfs bulk get of the outputs in a thread beside them."""
    import threading

    import fsspec
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.futures import wait
    from prefect.states import Completed
    from prefect.task_runners import ThreadPoolTaskRunner

    @task(name="Leaf", task_run_name="Leaf(i={i})", retries=0, cache_policy=NO_CACHE,
          persist_result=False, log_prints=True)
    def downloaded(i: int) -> Any:
        return Completed(name="Downloaded", message="downloaded")

    @flow(name="DownloadFloor", task_runner=ThreadPoolTaskRunner(max_workers=workers),
          persist_result=False, validate_parameters=False, log_prints=False)
    def floor() -> None:
        fs, _ = fsspec.core.url_to_fs("abfs://x", connection_string=connection_string,
                                      skip_instance_cache=True)
        get = threading.Thread(target=fs.get, args=(source, target), kwargs={"recursive": True})
        get.start()
        wait([downloaded.submit(i=i) for i in range(n)])
        get.join()

    start = time.perf_counter()
    state = floor(return_state=True)
    seconds = time.perf_counter() - start
    files, _ = folder_bytes(target)
    if not state.is_completed() or files != n:
        raise RuntimeError(f"floor flow: {state}, {files} files, expected {n}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=int, default=1000)
    parser.add_argument("--kb", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--download-group-size", type=int, default=None,
                        help="downloads of one class per task run (default: luisy's, 100)")
    parser.add_argument("--target", type=float, default=1.5)
    parser.add_argument("--floor", action="store_true",
                        help="also time the Prefect floor: one no-op task run per output")
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
    times: dict[str, list[float]] = {"luisy": [], "adlfs": [], "floor": []}
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

            def settle() -> None:
                """Between runs, not timed: the server records the last run's events (else
                the next run, of either side, pays for that backlog)."""
                if not server.settle(timeout=600):
                    raise RuntimeError("the Prefect server stayed busy for 600 s")

            settle()

            sides = {
                "luisy": lambda: run_luisy(root, n, url, fresh_dir("machine-b"),
                                           args.workers, args.download_group_size, probe),
                "adlfs": lambda: (run_adlfs(azurite.connection_string, source,
                                            fresh_dir("adlfs"), n), "fs.get, recursive"),
            }
            if args.floor:
                sides["floor"] = lambda: (run_floor(azurite.connection_string, source,
                                                    fresh_dir("floor"), n, args.workers),
                                          f"{n} task runs + fs.get beside them")
            for rnd in range(args.rounds):
                order = list(sides) if rnd % 2 == 0 else list(reversed(sides))
                for name in order:
                    seconds, detail = sides[name]()
                    settle()
                    times[name].append(seconds)
                    print(f"  {name}: {seconds:.2f}s ({detail})", flush=True)
                print(f"round {rnd + 1}: " + ", ".join(
                    f"{name} {times[name][-1]:.2f}s" for name in sides) + ", ratio "
                      f"{times['luisy'][-1] / times['adlfs'][-1]:.2f}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    luisy_s, adlfs_s = statistics.median(times["luisy"]), statistics.median(times["adlfs"])
    ratio = luisy_s / adlfs_s
    print(f"download {n} outputs ({mb:.1f} MB): luisy {luisy_s:.2f}s "
          f"({mb / luisy_s:.1f} MB/s), adlfs alone {adlfs_s:.2f}s ({mb / adlfs_s:.1f} MB/s), "
          f"ratio {ratio:.2f} (target <= {args.target}; medians of {args.rounds} round(s), "
          f"workers={args.workers}, download_group_size="
          f"{args.download_group_size or luisy.Config().get_param('download_group_size')}, "
          f"transfers={sync.TRANSFERS}x{sync.CHUNK}, heartbeats "
          f"{'on' if args.heartbeats else 'off'})")
    if args.floor:
        floor_s = statistics.median(times["floor"])
        print(f"Prefect floor ({n} task runs ending Downloaded, the same get beside them): "
              f"{floor_s:.2f}s, floor/adlfs {floor_s / adlfs_s:.2f}, luisy/floor "
              f"{luisy_s / floor_s:.2f}")
    return 0 if ratio <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
