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
from luisy.targets.spark import SparkTarget

#: luisy 1.x's name of the base of its file targets
LuisyTarget = LocalTarget

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
    "LuisyTarget",
    "ParquetDirTarget",
    "ParquetTarget",
    "PickleTarget",
    "SparkTarget",
    "Target",
    "XLSXTarget",
]
