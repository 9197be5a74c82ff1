"""The Spark tutorial as a Prefect flow: entrypoint ``flows/spark_tutorial/flow.py:spark_tutorial``.

TaskA reads the Delta table ``my_catalog.my_schema.raw``, which the tutorial expects to exist:
seed it once per working dir (``seed_raw``; running this module does both) before a run of the
deployment. Without a ``spark_block`` the tasks run on the embedded engine (docs/spark.md).
"""
import luisy
from flows.spark_tutorial.tasks import TaskC, seed_raw

spark_tutorial = luisy.flow(TaskC)

if __name__ == "__main__":
    luisy.set_working_dir("data/spark_tutorial")
    seed_raw()
    spark_tutorial(working_dir="data/spark_tutorial")
