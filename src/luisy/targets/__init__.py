"""Where task outputs live: local files and folders, Delta tables, blob storage."""
from luisy.targets.azure import AzureBlobStorageTarget
from luisy.targets.base import CloudTarget, Target
from luisy.targets.delta import DeltaTableTarget
from luisy.targets.local import (
    CSVTarget,
    DirectoryTarget,
    FeatherTarget,
    HDFTarget,
    JSONTarget,
    LocalTarget,
    ParquetDirTarget,
    ParquetTarget,
    PickleTarget,
    XLSXTarget,
)

__all__ = [
    "AzureBlobStorageTarget",
    "CSVTarget",
    "CloudTarget",
    "DeltaTableTarget",
    "DirectoryTarget",
    "FeatherTarget",
    "HDFTarget",
    "JSONTarget",
    "LocalTarget",
    "ParquetDirTarget",
    "ParquetTarget",
    "PickleTarget",
    "Target",
    "XLSXTarget",
]
