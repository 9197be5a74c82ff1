"""``AzureBlobStorageTarget``: files of one format under ``endpoint/directory``, via Spark.

Spark does the I/O, so the cluster needs the storage permissions, not this process. Any URI
Spark understands works (``abfss://``, ``wasbs://``, ``file://``), which is how it is tested.
"""
from __future__ import annotations

import logging
import os
import shutil
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from luisy.errors import TargetError, UsageError
from luisy.targets.spark import SparkTarget

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

logger = logging.getLogger(__name__)

_MISSING_MARKERS = ("PATH_NOT_FOUND", "does not exist", "No such file", "not found",
                    "NotFound", "BlobNotFound")


class AzureBlobStorageTarget(SparkTarget):
    """``file_format`` files under ``endpoint/directory``, overwritten as a whole."""

    file_ending = ""

    def __init__(self, outdir: str | None = None, endpoint: str | None = None,
                 directory: str | None = None, file_format: str = "parquet",
                 inferschema: bool = False, **kwargs: Any):
        super().__init__(outdir=outdir, **kwargs)
        if not endpoint or not directory:
            raise UsageError("AzureBlobStorageTarget needs an endpoint and a directory")
        self.endpoint = endpoint
        self.directory = directory
        self.file_format = file_format
        self.inferschema = inferschema

    @property
    def blob_uri(self) -> str:
        return f"{self.endpoint.rstrip('/')}/{self.directory.strip('/')}"

    @property
    def path(self) -> str:
        """luisy 1.x's key in the hash file (no file lives there)."""
        return os.path.join(self.outdir, self.endpoint, self.directory)

    @property
    def location(self) -> str:
        return self.blob_uri

    @property
    def uri(self) -> str:
        return self.blob_uri

    def _local_dir(self) -> str | None:
        parsed = urlparse(self.blob_uri)
        return parsed.path if parsed.scheme == "file" else None

    def _exists(self) -> bool:
        local = self._local_dir()
        if local is not None:
            return os.path.isdir(local) and any(
                not name.startswith((".", "_")) for name in os.listdir(local))
        try:  # analysing the read lists the files: no Spark job
            self._reader().schema  # noqa: B018
            return True
        except Exception as exc:
            if any(marker in str(exc) for marker in _MISSING_MARKERS):
                return False
            raise self.spark_error("check", exc) from exc

    def _reader(self) -> DataFrame:
        reader = self.spark.read.format(self.file_format)
        if self.inferschema:
            reader = reader.option("inferSchema", "true")
        return reader.load(self.blob_uri)

    def _read(self) -> DataFrame:
        if not self._exists():  # Spark Connect would only fail at the first action
            raise TargetError(f"cannot read {self.location}: it does not exist")
        try:
            return self._reader()
        except Exception as exc:
            raise self.spark_error("read", exc) from exc

    def _write(self, obj: Any) -> None:
        df = self.to_spark(obj)
        try:
            df.write.format(self.file_format).mode("overwrite").save(self.blob_uri)
        except Exception as exc:
            raise self.spark_error("write", exc) from exc

    def _remove(self) -> None:
        """Local folders are deleted; remote blobs are left (Spark cannot delete), and the next
        write overwrites them, as in luisy 1.x."""
        local = self._local_dir()
        if local is not None:
            shutil.rmtree(local, ignore_errors=True)
        else:
            logger.warning("Not removing %s: blobs are overwritten by the next write",
                           self.location)
