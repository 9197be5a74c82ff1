"""``DeltaTableTarget``: a Delta table ``catalog.schema.table``, read and written by Spark.

Where the table lives depends on the engine (:func:`luisy.spark.session.uses_path_tables`):

* in the engine's catalog (Databricks/Unity Catalog, classic Spark with Delta, a Spark Connect
  server with a persistent catalog): ``saveAsTable`` / ``spark.read.table``;
* as a folder ``<working_dir>/.luisy-delta/<catalog>/<schema>/<table>`` on the embedded engine,
  whose catalog lives in memory only: a table written by one build is then found complete by
  the next build in a new process.

Names are checked to be plain identifiers before they reach SQL or a path: a table name is
never a place to inject SQL or to escape the working dir.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
from typing import TYPE_CHECKING, Any

from luisy.config import current
from luisy.errors import TargetError
from luisy.spark.errors import short_message
from luisy.targets.spark import SparkTarget

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: where path-based tables live, below the working dir
DELTA_DIR = ".luisy-delta"


class InvalidIdentifierError(TargetError, ValueError):
    """A catalog, schema or table name that is not a plain identifier."""


def check_identifier(kind: str, value: Any) -> str:
    """``value`` if it is a plain identifier (``[A-Za-z_][A-Za-z0-9_]*``), else raise."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise InvalidIdentifierError(
            f"invalid Delta table {kind} {value!r}: use a plain identifier (letters, digits "
            "and '_', not starting with a digit)")
    return value


def _not_found(exc: BaseException) -> bool:
    text = str(exc)
    return any(marker in text for marker in (
        "NOT_FOUND", "not found", "does not exist", "REQUIRES_SINGLE_PART_NAMESPACE"))


class _PathTable:
    """A path-based Delta table: existence is a ``_delta_log`` folder on this machine."""

    def __init__(self, path: str):
        self.path = path

    def exists(self, spark: SparkSession) -> bool:
        return os.path.isdir(os.path.join(self.path, "_delta_log"))

    def read(self, spark: SparkSession) -> DataFrame:
        return spark.read.format("delta").load(self.path)

    def write(self, spark: SparkSession, df: DataFrame) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        (df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
         .save(self.path))

    def remove(self, spark: SparkSession) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class _CatalogTable:
    """A table in the engine's catalog; names are validated and back-quoted."""

    def __init__(self, catalog: str, schema: str, table: str):
        self.schema_name = f"`{catalog}`.`{schema}`"
        self.name = f"{self.schema_name}.`{table}`"

    def exists(self, spark: SparkSession) -> bool:
        try:
            return bool(spark.catalog.tableExists(self.name))
        except Exception as exc:
            if "REQUIRES_SINGLE_PART_NAMESPACE" in str(exc):
                raise TargetError(
                    f"{self.name}: this Spark session has no catalog of that name; configure "
                    "one (spark.sql.catalog.<name>), or keep Delta tables as folders with "
                    "Config().set_param('delta_storage', 'path')") from None
            if _not_found(exc):  # catalog or schema missing: so is the table
                return False
            raise

    def read(self, spark: SparkSession) -> DataFrame:
        return spark.read.table(self.name)

    def write(self, spark: SparkSession, df: DataFrame) -> None:
        # engines that allow it get the schema; on the others saveAsTable names what is missing
        with contextlib.suppress(Exception):
            spark.sql(f"CREATE SCHEMA IF NOT EXISTS {self.schema_name}")
        (df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
         .saveAsTable(self.name))

    def remove(self, spark: SparkSession) -> None:
        spark.sql(f"DROP TABLE IF EXISTS {self.name}")


class DeltaTableTarget(SparkTarget):
    """The table ``catalog.schema.table_name``; ``read()`` returns a Spark frame."""

    file_ending = "DeltaTable"

    def __init__(self, outdir: str | None = None, catalog: str = "catalog",
                 schema: str = "schema", table_name: str | None = None, **kwargs: Any):
        super().__init__(outdir=outdir, **kwargs)
        self.catalog = check_identifier("catalog", catalog)
        self.schema = check_identifier("schema", schema)
        self.table_name = check_identifier("table name", table_name)

    @property
    def table_uri(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.table_name}"

    @property
    def path(self) -> str:
        """luisy 1.x's key in the hash file (no file lives there)."""
        return os.path.join(self.outdir, f"{self.table_uri}.{self.file_ending}")

    @property
    def location(self) -> str:
        return self.table_uri

    def table_path(self) -> str:
        """The folder of this table when tables are path-based."""
        return os.path.join(current().working_dir, DELTA_DIR, self.catalog, self.schema,
                            self.table_name)

    def _store(self, spark: SparkSession) -> _PathTable | _CatalogTable:
        from luisy.spark.session import uses_path_tables

        if uses_path_tables(spark):
            return _PathTable(self.table_path())
        return _CatalogTable(self.catalog, self.schema, self.table_name)

    def _exists(self) -> bool:
        spark = self.spark
        try:
            return self._store(spark).exists(spark)
        except TargetError:
            raise
        except Exception as exc:
            raise self.spark_error("check", exc) from exc

    def _read(self) -> DataFrame:
        spark = self.spark
        store = self._store(spark)
        if not store.exists(spark):  # Spark Connect would only fail at the first action
            raise TargetError(f"cannot read {self.location}: the table does not exist")
        try:
            return store.read(spark)
        except Exception as exc:
            raise self.spark_error("read", exc) from exc

    def _write(self, obj: Any) -> None:
        df = self.to_spark(obj)
        spark = self.spark
        try:
            self._store(spark).write(spark, df)
        except Exception as exc:
            raise self.spark_error("write", exc) from exc

    def _remove(self) -> None:
        spark = self.spark
        try:
            self._store(spark).remove(spark)
        except Exception as exc:
            raise TargetError(f"cannot drop {self.location}: {short_message(exc)}") from exc
