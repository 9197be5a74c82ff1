"""luisy: batch pipelines as task classes, run as Prefect 3 flows."""
from __future__ import annotations

from typing import Any

from luisy import discovery as _discovery
from luisy import visualize as _visualize
from luisy.cache.ledger import Records as _Records
from luisy.config import Config, activate_download, set_working_dir
from luisy.decorators import (
    auto_filename,
    csv_output,
    data_version,
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
from luisy.remote import sync as _remote_sync
from luisy.services import provide as _provide
from luisy.spark import provider as _spark_provider
from luisy.spark import session as _spark_session
from luisy.tasks.base import ConcatenationTask, ExternalTask, SparkTask, Task, WrapperTask

# The composition root: the task model asks these layers through luisy.services (it must not
# import them); none of them imports Prefect, pandas or pyspark until used.
_provide(
    records=_Records(),
    visualize=_visualize.visualize_task,
    related_instances=_discovery.related_instances,
    spark_session=_spark_provider.get_spark,
    describe_session=_spark_session.describe_session,
    shares_files=_spark_session.shares_files,
    download=_remote_sync.download_task,
    upload=_remote_sync.upload_task,
)

_LAZY = {
    # pyspark and prefect are imported only when these are used
    "deltatable_input": ("luisy.spark_storage", "deltatable_input"),
    "deltatable_output": ("luisy.spark_storage", "deltatable_output"),
    "azure_blob_storage_input": ("luisy.spark_storage", "azure_blob_storage_input"),
    "azure_blob_storage_output": ("luisy.spark_storage", "azure_blob_storage_output"),
    "build": ("luisy.runner", "build"),
    "plan": ("luisy.planner", "make_plan"),
    "verify": ("luisy.verification", "verify"),
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
    "Task", "ExternalTask", "WrapperTask", "ConcatenationTask", "SparkTask",
    "raw", "interim", "final", "project_name", "requires", "inherits", "auto_filename",
    "pickle_output", "csv_output", "json_output", "xlsx_output", "hdf_output", "feather_output",
    "parquet_output", "parquetdir_output", "make_directory_output", "prefect_options",
    "data_version",
    "Parameter", "IntParameter", "FloatParameter", "BoolParameter", "DateParameter",
    "MonthParameter", "DateIntervalParameter", "ListParameter", "TupleParameter",
    "DictParameter", *_LAZY,
]
