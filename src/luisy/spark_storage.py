"""Decorators for Spark storage: Delta tables and Azure blob storage (luisy 1.x names).

Names, URIs and write options are checked when the class is decorated, so that a bad table
name or an impossible option fails at import time, not half-way through a build.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from luisy.errors import TaskDefinitionError
from luisy.targets.azure import AzureBlobStorageTarget
from luisy.targets.base import CloudTarget
from luisy.targets.delta import DeltaTableTarget

T = TypeVar("T", bound=type)


def _input_decorator(target_cls: type[CloudTarget], kwargs: dict[str, Any]) -> Callable[[T], T]:
    target_cls(outdir="", **kwargs)  # validate now

    def decorator(cls: T) -> T:
        def input(self: Any) -> CloudTarget:
            return target_cls(outdir=self.get_outdir(), **kwargs)

        cls.input = input
        cls.external_inputs = lambda self: [self.input()]
        return cls

    return decorator


def _output_decorator(target_cls: type[CloudTarget],
                      kwargs: dict[str, Any]) -> Callable[[T], T]:
    target_cls(outdir="", **kwargs)  # validate now

    def decorator(cls: T) -> T:
        cls.target_cls = target_cls
        cls.target_kwargs = dict(kwargs)
        return cls

    return decorator


def deltatable_input(catalog: str = "catalog", schema: str = "schema",
                     table_name: str | None = None,
                     version_as_of: int | None = None) -> Callable[[T], T]:
    """``self.input()`` is the Delta table ``catalog.schema.table_name``.

    The table's version is part of the task's key: new rows in it rerun the task and what
    depends on it. ``version_as_of=N`` pins the input (Delta time travel): the task reads
    version N whatever is written later, for reproducible runs.
    """
    return _input_decorator(DeltaTableTarget, {"catalog": catalog, "schema": schema,
                                               "table_name": table_name,
                                               "version_as_of": version_as_of})


class _SharedTableKwargs:
    """``target_kwargs`` of a task whose Delta table is shared with other instances.

    Read on the class: the decorator's options. Read on a task (as ``Task.output()`` does):
    those plus what only the instance knows, so that each instance's target is its own part of
    the table: the values of its parameters named in ``partition_by``, its significant
    parameters (the hash-file key of a merging instance) and its name for messages.
    A descriptor rather than a task-model hook: the task model stays unaware of tables, and an
    output decorator of a subclass replaces it like any other ``target_kwargs``.
    """

    def __init__(self, options: dict[str, Any]):
        self.options = options

    def __get__(self, task: Any, cls: type | None = None) -> dict[str, Any]:
        if task is None:
            return dict(self.options)
        kwargs = dict(self.options, owner=task.task_id)
        partition_by = self.options.get("partition_by") or ()
        if partition_by:
            params = dict(type(task).get_params())
            values = {}
            for column in partition_by:
                param = params.get(column)
                if param is None:
                    raise TaskDefinitionError(
                        f"{task.get_task_family()}: partition_by names {column!r}, which is "
                        f"not a parameter of the task (parameters: "
                        f"{', '.join(sorted(params)) or 'none'})")
                value = task.param_kwargs[column]
                # text, integers and booleans as they are; months, dates, ... as the text the
                # task id shows (MonthParameter: '2024-01')
                if value is not None and not isinstance(value, (bool, int, str)):
                    value = param.serialize(value)
                values[column] = value
            kwargs["partition_values"] = values
        if self.options.get("mode") == "merge":
            kwargs["instance_params"] = task.to_str_params(only_significant=True)
        return kwargs


def deltatable_output(catalog: str = "catalog", schema: str = "schema",
                      table_name: str | None = None,
                      partition_by: Sequence[str] | str | None = None,
                      mode: str = "overwrite",
                      merge_keys: Sequence[str] | str | None = None) -> Callable[[T], T]:
    """The task writes the Delta table ``catalog.schema.table_name``.

    * by default it overwrites the table;
    * ``partition_by=["month"]``: one task instance per month shares the table and owns the
      rows of its month (the value of its parameter ``month``): a run replaces only those
      rows, the output exists while the table holds rows of its month, ``clean()`` deletes
      only them. A frame without the column gets it from the parameter;
    * ``mode="merge", merge_keys=["id"]``: the frame is upserted (``MERGE INTO ... WHEN
      MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *``), the table is created by the
      first write.

    Names are plain identifiers or back-quoted Unity Catalog names (`` `my-catalog` ``).
    """
    options: dict[str, Any] = {"catalog": catalog, "schema": schema, "table_name": table_name}
    if not (partition_by or merge_keys or mode != "overwrite"):  # the table of one task
        return _output_decorator(DeltaTableTarget, options)
    options.update(partition_by=partition_by, mode=mode, merge_keys=merge_keys)
    checked = DeltaTableTarget(outdir="", **options)  # validate now
    options.update(partition_by=list(checked.partition_by), merge_keys=list(checked.merge_keys))

    def decorator(cls: T) -> T:
        cls.target_cls = DeltaTableTarget
        cls.target_kwargs = _SharedTableKwargs(options)
        return cls

    return decorator


def azure_blob_storage_input(endpoint: str, directory: str, file_format: str = "parquet",
                             inferschema: bool = False) -> Callable[[T], T]:
    """``self.input()`` is the ``file_format`` data under ``endpoint/directory``."""
    return _input_decorator(AzureBlobStorageTarget, {
        "endpoint": endpoint, "directory": directory, "file_format": file_format,
        "inferschema": inferschema})


def azure_blob_storage_output(endpoint: str, directory: str, file_format: str = "parquet",
                              inferschema: bool = False) -> Callable[[T], T]:
    """The task overwrites the ``file_format`` data under ``endpoint/directory``."""
    return _output_decorator(AzureBlobStorageTarget, {
        "endpoint": endpoint, "directory": directory, "file_format": file_format,
        "inferschema": inferschema})


__all__ = ["azure_blob_storage_input", "azure_blob_storage_output", "deltatable_input",
           "deltatable_output"]
