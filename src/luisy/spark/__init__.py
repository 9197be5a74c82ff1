"""luisy on Spark: one session provider and a Prefect block for sessions.

Importing this package does not import pyspark; sessions are made on first use.
"""
from __future__ import annotations

from typing import Any

from luisy.spark.errors import SparkSessionError
from luisy.spark.provider import get_spark
from luisy.spark.session import describe_session, stop_embedded

__all__ = ["SparkSessionBlock", "SparkSessionError", "describe_session", "get_spark",
           "stop_embedded"]


def __getattr__(name: str) -> Any:
    if name == "SparkSessionBlock":  # imports prefect's block machinery: only when asked
        from luisy.spark.block import SparkSessionBlock

        return SparkSessionBlock
    raise AttributeError(f"module 'luisy.spark' has no attribute '{name}'")
