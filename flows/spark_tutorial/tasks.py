"""TaskA -> TaskB -> TaskC from the luisy 1.x "Interaction with PySpark" page, unchanged.

With no Spark set up, SparkTasks run on the embedded engine (pysail) and the Delta tables
``my_catalog.my_schema.*`` live under ``<working_dir>/.luisy-delta/`` (see docs/spark.md).
Seed the input table with :func:`seed_raw`, then ``build(TaskC(), cloud_mode=True)``.
"""
import pandas as pd

import luisy
from luisy.tasks.base import SparkTask


@luisy.deltatable_input(schema='my_schema', catalog='my_catalog', table_name='raw')
@luisy.deltatable_output(schema='my_schema', catalog='my_catalog', table_name='interim')
class TaskA(SparkTask):

    def run(self):
        df = self.input().read()
        df = df.drop('c')
        self.write(df)


@luisy.requires(TaskA)
@luisy.deltatable_output(schema='my_schema', catalog='my_catalog', table_name='final')
class TaskB(SparkTask):

    def run(self):
        df = self.input().read()
        df = df.withColumn('f', 2*df.a)
        self.write(df)


@luisy.prefect_options(flow_name="spark-tutorial")  # builds, CLI and deployment: one flow
@luisy.requires(TaskB)
@luisy.final
@luisy.pickle_output
class TaskC(SparkTask):
    def run(self):
        df = self.input().read()
        self.write(df)


RAW = pd.DataFrame({"a": [1, 2, 3], "b": [10, 20, 30], "c": ["x", "y", "z"]})


def seed_raw(frame: pd.DataFrame = RAW) -> None:
    """Write the tutorial's input table ``my_catalog.my_schema.raw`` (columns a, b, c)."""
    from luisy.targets.delta import DeltaTableTarget

    DeltaTableTarget(catalog="my_catalog", schema="my_schema", table_name="raw").write(frame)
