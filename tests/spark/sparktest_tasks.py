"""Task classes of the Spark tests, at module level as luisy (and Prefect) expect them.

TaskA, TaskB and TaskC are the luisy 1.x tutorial pipeline exactly as documented.
"""
from __future__ import annotations

import pandas as pd

import luisy
from luisy.tasks.base import SparkTask

project = luisy.project_name("sparktests")


@project
@luisy.deltatable_input(schema='my_schema', catalog='my_catalog', table_name='raw')
@luisy.deltatable_output(schema='my_schema', catalog='my_catalog', table_name='interim')
class TaskA(SparkTask):

    def run(self):
        df = self.input().read()
        df = df.drop('c')
        self.write(df)


@project
@luisy.requires(TaskA)
@luisy.deltatable_output(schema='my_schema', catalog='my_catalog', table_name='final')
class TaskB(SparkTask):

    def run(self):
        df = self.input().read()
        df = df.withColumn('f', 2*df.a)
        self.write(df)


@project
@luisy.requires(TaskB)
@luisy.final
@luisy.pickle_output
class TaskC(SparkTask):
    def run(self):
        df = self.input().read()
        self.write(df)


RAW = pd.DataFrame({"a": [1, 2, 3], "b": [10, 20, 30], "c": ["x", "y", "z"]})


def seed_raw() -> None:
    """The tutorial's input table ``my_catalog.my_schema.raw``, columns a, b, c."""
    from luisy.targets.delta import DeltaTableTarget

    DeltaTableTarget(catalog="my_catalog", schema="my_schema", table_name="raw").write(RAW)


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
