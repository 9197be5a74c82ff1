"""Decorators for Spark storage: Delta tables and Azure blob storage (luisy 1.x names).

Names and URIs are checked when the class is decorated, so that a bad table name fails at
import time, not half-way through a build.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

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
                     table_name: str | None = None) -> Callable[[T], T]:
    """``self.input()`` is the Delta table ``catalog.schema.table_name``."""
    return _input_decorator(DeltaTableTarget, {"catalog": catalog, "schema": schema,
                                               "table_name": table_name})


def deltatable_output(catalog: str = "catalog", schema: str = "schema",
                      table_name: str | None = None) -> Callable[[T], T]:
    """The task overwrites the Delta table ``catalog.schema.table_name``."""
    return _output_decorator(DeltaTableTarget, {"catalog": catalog, "schema": schema,
                                                "table_name": table_name})


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
