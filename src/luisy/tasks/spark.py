"""``SparkTask``: a task whose data are Spark frames.

Inputs stored as local files are read into pandas and uploaded to Spark; inputs stored by Spark
(tables, blobs) stay Spark frames. A Spark frame is pulled into one pandas frame only when the
output is a local file that pandas writes: the data must then fit into memory.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from luisy.spark.session import get_spark
from luisy.targets.base import CloudTarget, Target
from luisy.targets.local import LocalTarget, ParquetDirTarget
from luisy.targets.spark import is_spark_frame
from luisy.tasks.base import Task, map_structure

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: targets that take a Spark frame as it is
SPARK_NATIVE_TARGETS: tuple[type[Target], ...] = (CloudTarget, ParquetDirTarget)


def needs_pandas(target: Target) -> bool:
    """Whether a Spark frame must become pandas before ``target`` can store it."""
    if isinstance(target, SPARK_NATIVE_TARGETS):
        return False
    return target.requires_pandas or isinstance(target, LocalTarget)


class SparkTask(Task):
    """A task that processes :class:`pyspark.sql.DataFrame` objects on :attr:`spark`."""

    @property
    def spark(self) -> SparkSession:
        """The session from :func:`luisy.spark.session.get_spark`."""
        return get_spark()

    def describe_engine(self) -> str:
        """Engine and endpoint of the session, token redacted (logged with each run)."""
        from luisy.spark.session import describe_session

        return describe_session(self.spark)

    def read_input(self) -> Any:
        """The inputs, each as a Spark frame where it holds a pandas frame."""
        return map_structure(self._read_as_spark, self.input())

    def _read_as_spark(self, target: Target) -> Any:
        data = target.read()
        if isinstance(data, pd.DataFrame):
            return self.spark.createDataFrame(data)
        return data

    def write(self, obj: Any) -> None:
        target = self.output()
        if is_spark_frame(obj) and needs_pandas(target):
            obj = obj.toPandas()
        target.write(obj)
