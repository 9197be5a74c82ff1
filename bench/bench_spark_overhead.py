"""luisy's own overhead on the Spark tutorial pipeline, on the embedded engine (pysail).

Measured in one process, on one engine and one Prefect server:

- direct: the tutorial's Spark operations written out by hand (read raw, drop c, write
  interim; read interim, add f, write final; read final, toPandas, pickle), on the same Delta
  paths luisy uses;
- luisy: ``luisy.build(TaskC(), cloud_mode=True)`` of flows/spark_tutorial;
- prefect: a flow run with three no-op task runs, Prefect's own cost for such a build.

target (issue 13): luisy <= prefect + 0.5 s; luisy - direct is shown too. Warm-up rounds
come first, then the median of ``--rounds``.

    .venv/bin/python bench/bench_spark_overhead.py [--rounds 5]
"""
from __future__ import annotations

import argparse
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # run logs still reach the server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from luisy.testing.server import PrefectServer

    with PrefectServer():
        from flows.spark_tutorial.tasks import TaskA, TaskB, TaskC, seed_raw
        from prefect import flow, task
        from prefect.cache_policies import NO_CACHE

        import luisy
        from luisy.config import Config
        from luisy.spark import get_spark
        from luisy.targets.delta import DeltaTableTarget

        @task(cache_policy=NO_CACHE, persist_result=False)
        def noop(i: int) -> None:
            return None

        @flow(persist_result=False)
        def three_noops() -> None:
            a = noop.submit(0)
            b = noop.submit(1, wait_for=[a])
            noop.submit(2, wait_for=[b]).wait()

        def table(name: str) -> str:
            """The folder luisy maps ``my_catalog.my_schema.<name>`` to on this engine."""
            return DeltaTableTarget(catalog="my_catalog", schema="my_schema",
                                    table_name=name).table_path()

        def fresh_working_dir() -> str:
            wd = tempfile.mkdtemp(prefix="luisy-bench-spark-")
            Config().set_param("working_dir", wd)
            seed_raw()
            return wd

        def direct() -> float:
            wd = fresh_working_dir()
            spark = get_spark()
            start = time.perf_counter()
            read = spark.read.format("delta").load
            raw = read(table("raw"))
            raw.drop("c").write.format("delta").mode("overwrite").save(table("interim"))
            df = read(table("interim"))
            df.withColumn("f", 2 * df.a).write.format("delta").mode("overwrite").save(
                table("final"))
            with open(os.path.join(wd, "TaskC.pkl"), "wb") as fh:
                pickle.dump(read(table("final")).toPandas(), fh)
            elapsed = time.perf_counter() - start
            shutil.rmtree(wd)
            return elapsed

        def with_luisy() -> float:
            wd = fresh_working_dir()
            start = time.perf_counter()
            summary = luisy.build(TaskC(), cloud_mode=True)
            elapsed = time.perf_counter() - start
            assert summary.completed == {TaskA(), TaskB(), TaskC()}, summary
            shutil.rmtree(wd)
            return elapsed

        def prefect_cost() -> float:
            start = time.perf_counter()
            three_noops()
            return time.perf_counter() - start

        for measure in (direct, with_luisy, prefect_cost):  # warm-up: engine, imports, server
            measure()
        times: dict[str, list[float]] = {"direct": [], "luisy": [], "prefect": []}
        for _ in range(args.rounds):
            times["direct"].append(direct())
            times["luisy"].append(with_luisy())
            times["prefect"].append(prefect_cost())
        med = {k: statistics.median(v) for k, v in times.items()}
        overhead = med["luisy"] - med["direct"]
        limit = med["prefect"] + 0.5
        ok = med["luisy"] <= limit
        print(f"spark tutorial ({args.rounds} rounds, medians): direct Spark {med['direct']:.2f}s,"
              f" luisy build {med['luisy']:.2f}s, Prefect flow+3 task runs {med['prefect']:.2f}s")
        print(f"luisy build / Prefect's 3-task flow = {med['luisy'] / med['prefect']:.2f}x; "
              f"luisy over direct Spark {overhead:.2f}s; target: luisy build <= Prefect "
              f"{med['prefect']:.2f}s + 0.5 s = {limit:.2f}s: {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
