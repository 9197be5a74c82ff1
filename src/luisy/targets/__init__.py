"""Where task outputs live: local files and folders, Delta tables, blob storage."""
from luisy.targets.base import CloudTarget, Target
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
    "CSVTarget",
    "CloudTarget",
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
