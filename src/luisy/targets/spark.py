"""``SparkTarget``: the shared part of targets that Spark reads and writes (tables, blobs).

Such targets hand out Spark frames, accept pandas frames too (converted with the target's
session), and turn Spark's page-long errors into one line naming the table or URI.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from luisy.errors import TargetError, WrongTypeError
from luisy.spark.errors import delta_missing_hint, is_delta_missing, short_message
from luisy.targets.base import CloudTarget, is_spark_frame

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class SparkTarget(CloudTarget):
    """A target that lives where the Spark engine stores data; its ``path`` is only a key."""

    @property
    def spark(self) -> SparkSession:
        from luisy.spark.provider import get_spark

        return get_spark()

    def to_spark(self, obj: Any) -> DataFrame:
        """``obj`` as a Spark frame: pandas frames are uploaded to the session."""
        if is_spark_frame(obj):
            return obj
        import pandas as pd

        if isinstance(obj, pd.DataFrame):
            return self.spark.createDataFrame(obj)
        raise WrongTypeError(f"{type(self).__name__} needs a Spark or pandas DataFrame, got "
                        f"{type(obj).__name__}")

    def spark_error(self, action: str, exc: BaseException) -> TargetError:
        """One line naming this target; the fix when the engine lacks Delta Lake."""
        if is_delta_missing(exc):
            from luisy.spark.session import engine_kind

            hint = delta_missing_hint(engine_kind(self.spark))
            return TargetError(f"cannot {action} {self.location}: {hint}")
        return TargetError(f"cannot {action} {self.location}: {short_message(exc)}")
