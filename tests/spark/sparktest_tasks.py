"""Task classes of the Spark tests, at module level as luisy (and Prefect) expect them.

TaskA, TaskB and TaskC, the luisy 1.x tutorial pipeline as documented, live in
``flows/spark_tutorial`` and are re-exported here.
"""
from __future__ import annotations

import pandas as pd
from flows.spark_tutorial.tasks import RAW, TaskA, TaskB, TaskC, seed_raw

import luisy
from luisy.tasks.base import SparkTask

project = luisy.project_name("sparktests")


# -------------------------------------------------------- pandas files <-> Spark, classic Spark
@project
@luisy.raw
class Numbers(luisy.Task):
    n = luisy.IntParameter(default=4)

    def run(self):
        self.write(pd.DataFrame({"x": list(range(self.n))}))


@project
@luisy.requires(Numbers)
@luisy.interim
@luisy.parquetdir_output(outdir="doubled")
class Doubled(SparkTask):
    """A pandas pickle in, a folder of parquet parts written by Spark out."""

    def run(self):
        df = self.read_input()
        self.write(df.withColumn("y", df.x * 2))


@project
@luisy.requires(Doubled)
@luisy.final
@luisy.csv_output
class BigOnes(SparkTask):
    """A parquet folder in (as a Spark frame), a CSV file out (pandas)."""

    def run(self):
        df = self.read_input()
        self.write(df.filter(df.y >= 4).orderBy("x"))


__all__ = ["RAW", "TaskA", "TaskB", "TaskC", "seed_raw"]
