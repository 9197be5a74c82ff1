"""luisy: batch pipelines as task classes, run as Prefect 3 flows."""
from __future__ import annotations

from typing import Any

from luisy.config import Config, activate_download, set_working_dir
from luisy.decorators import (
    auto_filename,
    csv_output,
    feather_output,
    final,
    hdf_output,
    inherits,
    interim,
    json_output,
    make_directory_output,
    parquet_output,
    parquetdir_output,
    pickle_output,
    prefect_options,
    project_name,
    raw,
    requires,
    xlsx_output,
)
from luisy.parameters import (
    BoolParameter,
    DateIntervalParameter,
    DateParameter,
    DictParameter,
    FloatParameter,
    IntParameter,
    ListParameter,
    MonthParameter,
    Parameter,
    TupleParameter,
)
from luisy.tasks.base import ConcatenationTask, ExternalTask, Task, WrapperTask

_LAZY = {
    # pyspark and prefect are imported only when these are used
    "SparkTask": ("luisy.tasks.spark", "SparkTask"),
    "deltatable_input": ("luisy.spark.decorators", "deltatable_input"),
    "deltatable_output": ("luisy.spark.decorators", "deltatable_output"),
    "azure_blob_storage_input": ("luisy.spark.decorators", "azure_blob_storage_input"),
    "azure_blob_storage_output": ("luisy.spark.decorators", "azure_blob_storage_output"),
    "build": ("luisy.runner", "build"),
    "plan": ("luisy.planner", "make_plan"),
    "flow": ("luisy.prefect_flow", "flow"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'luisy' has no attribute '{name}'")


__all__ = [
    "Config", "set_working_dir", "activate_download",
    "Task", "ExternalTask", "WrapperTask", "ConcatenationTask",
    "raw", "interim", "final", "project_name", "requires", "inherits", "auto_filename",
    "pickle_output", "csv_output", "json_output", "xlsx_output", "hdf_output", "feather_output",
    "parquet_output", "parquetdir_output", "make_directory_output", "prefect_options",
    "Parameter", "IntParameter", "FloatParameter", "BoolParameter", "DateParameter",
    "MonthParameter", "DateIntervalParameter", "ListParameter", "TupleParameter",
    "DictParameter", *_LAZY,
]
