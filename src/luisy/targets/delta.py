"""``DeltaTableTarget``: a Delta table ``catalog.schema.table``, read and written by Spark.

Where the table lives depends on the engine (:func:`luisy.spark.session.uses_path_tables`):

* in the engine's catalog (Databricks/Unity Catalog, classic Spark with Delta, a Spark Connect
  server with a persistent catalog): ``saveAsTable`` / ``spark.read.table``;
* as a folder ``<working_dir>/.luisy-delta/<catalog>/<schema>/<table>`` on the embedded engine,
  whose catalog lives in memory only: a table written by one build is then found complete by
  the next build in a new process.

How a task's frame reaches the table (``mode`` and ``partition_by``):

* ``overwrite`` (default): the frame replaces the table;
* ``overwrite`` with ``partition_by``: many task instances share one table and each owns the
  rows of its partition (the values of its parameters named in ``partition_by``): a write
  replaces only those rows (Delta ``replaceWhere``), ``exists()`` means the table holds rows of
  the partition, ``remove()`` deletes only them;
* ``merge`` with ``merge_keys``: the frame is upserted (``MERGE INTO``), so incremental loads
  never drop rows that other runs wrote.

Names are never spliced into SQL as given: a catalog, schema, table or column is a plain
identifier or a back-quoted Unity Catalog name (`` `my-catalog` ``) from a small safe alphabet,
and it is back-quoted when SQL is built. Values (partition values) become escaped SQL string
or number literals. A table name is neither a place to inject SQL nor to leave the working dir.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from luisy.config import current
from luisy.errors import TargetError
from luisy.spark.errors import short_message
from luisy.targets.delta_log import log_version, partition_files
from luisy.targets.spark import SparkTarget

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: what a back-quoted name may hold: Unity Catalog's hyphens and leading digits, nothing that
#: means something to SQL (backticks, quotes), to a path ('/', '.', '..', '\\', NUL) or to the
#: URL handling of engines (spaces, '%', '#', non-ASCII: pysail mangles such table folders)
_QUOTED_BODY = re.compile(r"[A-Za-z0-9_-]{1,255}")
#: a Delta commit, checkpoint (classic, multi-part, v2) or log compaction file in _delta_log
_LOG_ENTRY = re.compile(r"\d{20}(\.[^/]+)?\.(json|parquet)")
#: where path-based tables live, below the working dir
DELTA_DIR = ".luisy-delta"
#: how a task's frame reaches its table
MODES = ("overwrite", "merge")
#: messages of engines that lack a table operation (MERGE INTO, DELETE) altogether
_UNSUPPORTED_MARKERS = ("UNSUPPORTED_FEATURE", "not supported", "NOT_SUPPORTED",
                        "PARSE_SYNTAX_ERROR", "ParseException", "not implemented",
                        "NotImplemented")
#: messages of a commit that lost against a concurrent writer of the same table
_CONFLICT_MARKERS = ("Failed to commit transaction", "DELTA_CONCURRENT", "ConcurrentAppend",
                     "ConcurrentWrite", "ConcurrentDelete", "ConcurrentTransaction")
_RETRIES = 6

R = TypeVar("R")


class InvalidIdentifierError(TargetError, ValueError):
    """A catalog, schema, table or column name that luisy will not put into SQL or a path."""


class DeltaOptionsError(TargetError, ValueError):
    """Options of a Delta table output that cannot work (an unknown mode, merge without keys,
    ...): raised when the class is decorated, not in the middle of a build."""


def check_identifier(kind: str, value: Any) -> str:
    """The bare name of ``value``: a plain identifier (``[A-Za-z_][A-Za-z0-9_]*``) as it is, a
    back-quoted name (`` `my-catalog` ``, as Unity Catalog allows) without its backticks.

    The bare name is what a path is made of and what is back-quoted in SQL; anything else is
    refused, so a name can neither inject SQL nor point outside the working dir.
    """
    if isinstance(value, str):
        if _IDENTIFIER.fullmatch(value):
            return value
        if (len(value) > 2 and value[0] == value[-1] == "`"
                and _QUOTED_BODY.fullmatch(value[1:-1])):
            return value[1:-1]
    raise InvalidIdentifierError(
        f"invalid Delta table {kind} {value!r}: use a plain identifier (letters, digits and "
        "'_', not starting with a digit), or back-quote a name with '-' or a leading digit, "
        "as Unity Catalog allows (`my-catalog`: ASCII letters, digits, '_' and '-' only)")


def quote_identifier(name: str) -> str:
    """``name`` (a bare name from :func:`check_identifier`) back-quoted for SQL."""
    return f"`{name}`"


def sql_literal(value: str | int | bool) -> str:
    """``value`` as a Spark SQL literal. Text is single-quoted with every backslash and quote
    escaped (Spark's string escapes), so no value can end the literal; ``'a''b'`` is never
    built, as Spark would read it as two adjacent literals."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise TargetError(f"cannot use {type(value).__name__} {value!r} as a SQL literal")


def is_delta_table_folder(path: str) -> bool:
    """Whether ``path`` holds a Delta table: a ``_delta_log`` with at least one commit or
    checkpoint. An empty ``_delta_log`` (left by a writer that failed before its first commit)
    is not a table: every engine refuses to read it."""
    try:
        names = os.listdir(os.path.join(path, "_delta_log"))
    except (FileNotFoundError, NotADirectoryError):
        return False
    return any(_LOG_ENTRY.fullmatch(name) for name in names)


def _names(kind: str, value: Sequence[str] | str | None) -> tuple[str, ...]:
    """Column names of ``partition_by`` / ``merge_keys``: one name or a list, each checked."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    try:
        names = tuple(check_identifier(kind, v) for v in value)
    except TypeError:
        raise DeltaOptionsError(f"{kind}s must be a list of column names, got "
                                f"{type(value).__name__} {value!r}") from None
    lowered = [n.lower() for n in names]
    duplicated = sorted({n for n in lowered if lowered.count(n) > 1})
    if duplicated:  # Spark resolves columns without regard to case
        raise DeltaOptionsError(f"{kind} {duplicated[0]!r} is given twice")
    return names


def check_write_options(mode: str, partition_by: Sequence[str] | str | None,
                        merge_keys: Sequence[str] | str | None
                        ) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """``(mode, partition_by, merge_keys)`` checked together, or one :class:`DeltaOptionsError`
    that says which combination cannot work and what to write instead."""
    if mode not in MODES:
        raise DeltaOptionsError(f"unknown Delta table mode {mode!r}: use 'overwrite' (replace "
                                "the table, or with partition_by its partition) or 'merge' "
                                "(upsert by merge_keys)")
    partitions = _names("partition column", partition_by)
    keys = _names("merge key", merge_keys)
    if mode == "merge" and not keys:
        raise DeltaOptionsError("mode='merge' needs merge_keys: the columns that identify a row "
                                "(MERGE INTO ... ON those columns)")
    if mode != "merge" and keys:
        raise DeltaOptionsError("merge_keys are used only with mode='merge' (the default mode "
                                "'overwrite' replaces the table)")
    if mode == "merge" and partitions:
        raise DeltaOptionsError(
            "partition_by and mode='merge' cannot be combined: a partitioned output replaces "
            "its partition, a merged one upserts rows; to upsert within partitions add the "
            "partition columns to merge_keys")
    return mode, partitions, keys


def _partition_value(who: str, column: str, value: Any) -> str | int | bool:
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        if "\x00" in value:
            raise TargetError(f"{who}: the value of partition column {column!r} contains NUL")
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    shown = "no value (None)" if value is None else f"{type(value).__name__} {value!r}"
    raise TargetError(f"{who}: partition column {column!r} needs a text, integer, boolean or "
                      f"date value, got {shown}")


def _has_marker(exc: BaseException, markers: Sequence[str]) -> bool:
    text = str(exc)
    return any(marker in text for marker in markers)


def _not_found(exc: BaseException) -> bool:
    return _has_marker(exc, ("NOT_FOUND", "not found", "does not exist",
                             "REQUIRES_SINGLE_PART_NAMESPACE"))


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def _table_lock(key: str) -> Any:
    """Writers of one table in this process take turns: month tasks of one build run in
    threads, and concurrent Delta commits to one table make all but one fail (pysail does not
    retry them). Writers in other processes are met by :func:`_retrying`."""
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(key, threading.Lock())
    with lock:
        yield


def _retrying(action: Callable[[], R]) -> R:
    """``action()`` again, after a pause, when its commit lost against another writer of the
    table; only for actions that may be repeated (replaceWhere, MERGE, DELETE)."""
    attempt = 0
    while True:
        try:
            return action()
        except Exception as exc:
            attempt += 1
            if attempt == _RETRIES or not _has_marker(exc, _CONFLICT_MARKERS):
                raise
            time.sleep(0.1 * 2 ** (attempt - 1))


class _PathTable:
    """A path-based Delta table: a folder on this machine, written through Spark."""

    def __init__(self, path: str):
        self.path = path
        self.lock_key = f"path:{os.path.abspath(path)}"

    @property
    def sql_name(self) -> str:
        """`` delta.`<folder>` ``: how SQL statements (DELETE, MERGE) name a path table."""
        if "`" in self.path:  # the one character a back-quoted path would need escaped
            raise TargetError(f"the Delta table folder {self.path!r} contains a backtick, "
                              "which SQL statements cannot name safely; use a working dir "
                              "without one")
        return f"delta.`{self.path}`"

    def exists(self, spark: SparkSession) -> bool:
        return is_delta_table_folder(self.path)

    def read(self, spark: SparkSession, version: int | None = None) -> DataFrame:
        reader = spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(self.path)

    def log_folder(self, spark: SparkSession) -> str | None:
        return self.path

    def write(self, spark: SparkSession, df: DataFrame) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        (df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
         .save(self.path))

    def create(self, spark: SparkSession, df: DataFrame, partition_by: Sequence[str]) -> None:
        """Write the first rows. Appending, as two writers creating the table at once must not
        overwrite each other."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        writer = df.write.format("delta").mode("append")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.save(self.path)

    def replace_where(self, spark: SparkSession, df: DataFrame, predicate: str) -> None:
        (df.write.format("delta").mode("overwrite").option("replaceWhere", predicate)
         .save(self.path))

    def remove(self, spark: SparkSession) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _delta_hint_if_missing(spark: SparkSession) -> str:
    """The way to add Delta Lake, for a classic or Connect session without its extension."""
    from luisy.spark.errors import delta_missing_hint
    from luisy.spark.session import engine_kind

    kind = engine_kind(spark)
    if kind not in ("classic", "connect"):
        return ""
    try:
        extensions = spark.conf.get("spark.sql.extensions", "") or ""
    except Exception:  # an engine that does not answer conf requests: say nothing more
        return ""
    return "" if "delta" in extensions.lower() else f"; and {delta_missing_hint(kind)}"


class _CatalogTable:
    """A table in the engine's catalog; names are validated and back-quoted."""

    def __init__(self, catalog: str, schema: str, table: str):
        self.schema_name = f"{quote_identifier(catalog)}.{quote_identifier(schema)}"
        self.sql_name = f"{self.schema_name}.{quote_identifier(table)}"
        self.lock_key = f"catalog:{self.sql_name}"

    def exists(self, spark: SparkSession) -> bool:
        try:
            return bool(spark.catalog.tableExists(self.sql_name))
        except Exception as exc:
            if "REQUIRES_SINGLE_PART_NAMESPACE" in str(exc):
                raise TargetError(
                    f"{self.sql_name}: this Spark session has no catalog of that name; "
                    "configure one (spark.sql.catalog.<name>), or keep Delta tables as folders "
                    "with Config().set_param('delta_storage', 'path')"
                    f"{_delta_hint_if_missing(spark)}") from None
            if _not_found(exc):  # catalog or schema missing: so is the table
                return False
            raise

    def read(self, spark: SparkSession, version: int | None = None) -> DataFrame:
        reader = spark.read
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.table(self.sql_name)

    def log_folder(self, spark: SparkSession) -> str | None:
        """The table's folder when it is on this machine (an embedded engine's warehouse),
        so that its log can be read; None for a table elsewhere (a cluster's storage)."""
        try:
            rows = spark.sql(f"DESCRIBE TABLE EXTENDED {self.sql_name}").collect()
        except Exception:  # an engine without it: the version comes from the engine then
            return None
        where = next((str(r[1]) for r in rows if str(r[0]).strip() == "Location"), "")
        where = where.removeprefix("file://").removeprefix("file:")
        return where if where and is_delta_table_folder(where) else None

    def history_version(self, spark: SparkSession) -> int | None:
        """The latest version in the engine's history (Databricks, classic Delta)."""
        try:
            rows = spark.sql(f"DESCRIBE HISTORY {self.sql_name} LIMIT 1").collect()
        except Exception as exc:
            raise TargetError(f"cannot read the version of {self.sql_name}: the engine keeps "
                              f"no history of it ({short_message(exc, limit=200)})") from exc
        return int(rows[0]["version"]) if rows else None

    def _ensure_schema(self, spark: SparkSession) -> None:
        # engines that allow it get the schema; on the others saveAsTable names what is missing
        with contextlib.suppress(Exception):
            spark.sql(f"CREATE SCHEMA IF NOT EXISTS {self.schema_name}")

    def write(self, spark: SparkSession, df: DataFrame) -> None:
        self._ensure_schema(spark)
        (df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
         .saveAsTable(self.sql_name))

    def create(self, spark: SparkSession, df: DataFrame, partition_by: Sequence[str]) -> None:
        self._ensure_schema(spark)
        writer = df.write.format("delta").mode("append")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.saveAsTable(self.sql_name)

    def replace_where(self, spark: SparkSession, df: DataFrame, predicate: str) -> None:
        # DataFrameWriterV2.overwrite(condition), not the replaceWhere option of saveAsTable:
        # pysail ignores that option there and would replace the whole table
        from pyspark.sql import functions as F

        df.writeTo(self.sql_name).overwrite(F.expr(predicate))

    def remove(self, spark: SparkSession) -> None:
        spark.sql(f"DROP TABLE IF EXISTS {self.sql_name}")


class DeltaTableTarget(SparkTarget):
    """The table ``catalog.schema.table_name``; ``read()`` returns a Spark frame.

    ``partition_by`` (with ``partition_values``) makes the target the rows of one partition of
    the table, ``mode='merge'`` (with ``merge_keys``) upserts what is written; see the module
    doc. ``owner`` names the task in messages, ``instance_params`` tell apart the hash-file keys
    of task instances that merge into one table.
    """

    file_ending = "DeltaTable"

    def __init__(self, outdir: str | None = None, catalog: str = "catalog",
                 schema: str = "schema", table_name: str | None = None, *,
                 partition_by: Sequence[str] | str | None = None,
                 partition_values: Mapping[str, Any] | None = None,
                 mode: str = "overwrite", merge_keys: Sequence[str] | str | None = None,
                 instance_params: Mapping[str, str] | None = None,
                 owner: str | None = None, version_as_of: int | None = None,
                 **kwargs: Any):
        super().__init__(outdir=outdir, **kwargs)
        self.catalog = check_identifier("catalog", catalog)
        self.schema = check_identifier("schema", schema)
        self.table_name = check_identifier("table name", table_name)
        #: the names as written (back-quoted ones with their quotes): luisy 1.x's table_uri
        self._spelled = (catalog, schema, table_name)
        self.mode, self.partition_by, self.merge_keys = check_write_options(
            mode, partition_by, merge_keys)
        self.owner = owner
        self.partition_values = None
        if partition_values is not None:
            self.partition_values = self._checked_values(partition_values)
        self.instance_params = {str(k): str(v) for k, v in (instance_params or {}).items()}
        if version_as_of is not None and (isinstance(version_as_of, bool) or not isinstance(
                version_as_of, int) or version_as_of < 0):
            raise DeltaOptionsError(f"{owner or self.table_uri}: version_as_of must be a table "
                                    f"version (an integer >= 0), not {version_as_of!r}")
        #: read the table as of this version (a pinned input, for reproducible runs)
        self.version_as_of = version_as_of

    def _checked_values(self, given: Mapping[str, Any]) -> dict[str, str | int | bool]:
        who = self.owner or self.table_uri
        extra = sorted(set(given) - set(self.partition_by))
        if extra:
            raise TargetError(f"{who}: partition value for {extra[0]!r}, which is not in "
                              f"partition_by {list(self.partition_by)}")
        missing = [c for c in self.partition_by if c not in given]
        if missing:
            raise TargetError(f"{who}: no partition value for column {missing[0]!r}")
        return {c: _partition_value(who, c, given[c]) for c in self.partition_by}

    # ------------------------------------------------------------------------------ names
    @property
    def table_uri(self) -> str:
        """``catalog.schema.table`` as written (luisy 1.x's spelling)."""
        return ".".join(self._spelled)

    @property
    def partition_spec(self) -> str:
        """``month=2024-01`` (several columns joined by ``,``); empty when not partitioned."""
        if not self.partition_values:
            return ""
        return ",".join(f"{c}={v}" for c, v in self.partition_values.items())

    def _key_parts(self) -> list[str]:
        if self.partition_values:
            items = list(self.partition_values.items())
        elif self.mode == "merge":
            items = sorted(self.instance_params.items())
        else:
            items = []
        # percent-encoded: no value can add a path level or climb out ('/', '..' are encoded)
        return [f"{name}={quote(str(value), safe='')}" for name, value in items]

    @property
    def path(self) -> str:
        """The key of this output in the hash file (no file lives there): luisy 1.x's
        ``<outdir>/<table_uri>.DeltaTable`` for a table of one task; one key per partition
        (``<outdir>/<table_uri>/month=2024-01.DeltaTable``) or per merging task instance when
        several tasks share the table."""
        parts = self._key_parts()
        if not parts:
            return os.path.join(self.outdir, f"{self.table_uri}.{self.file_ending}")
        return os.path.join(self.outdir, self.table_uri, *parts[:-1],
                            f"{parts[-1]}.{self.file_ending}")

    @property
    def location(self) -> str:
        spec = self.partition_spec
        return f"{self.table_uri}[{spec}]" if spec else self.table_uri

    @property
    def uri(self) -> str:
        """``delta://catalog.schema.table``, a partition after a ``/``: ``.../month=2024-01``."""
        spec = self.partition_spec
        return f"delta://{self.table_uri}" + (f"/{spec}" if spec else "")

    def table_path(self) -> str:
        """The folder of this table when tables are path-based (inside the working dir)."""
        root = os.path.join(current().working_dir, DELTA_DIR)
        path = os.path.join(root, self.catalog, self.schema, self.table_name)
        # the names' alphabet cannot leave root; checked again, as a promise of this method
        if os.path.commonpath([os.path.abspath(root), os.path.abspath(path)]) != \
                os.path.abspath(root):
            raise InvalidIdentifierError(f"the Delta table {self.table_uri} would live "
                                         f"outside {root}")
        return path

    def predicate(self, null_safe: bool = False) -> str:
        """The SQL condition of this target's partition: `` `month` = '2024-01' ``."""
        values = self._values("select the partition of")
        op = "<=>" if null_safe else "="
        return " AND ".join(f"{quote_identifier(c)} {op} {sql_literal(v)}"
                            for c, v in values.items())

    def _values(self, action: str) -> dict[str, str | int | bool]:
        if self.partition_values is None:
            raise TargetError(
                f"cannot {action} {self.table_uri}: it is partitioned by "
                f"{', '.join(self.partition_by)} and this target has no partition_values (a "
                "task's output gets them from its parameters)")
        return self.partition_values

    def _store(self, spark: SparkSession) -> _PathTable | _CatalogTable:
        from luisy.spark.session import uses_path_tables

        if uses_path_tables(spark):
            return _PathTable(self.table_path())
        return _CatalogTable(self.catalog, self.schema, self.table_name)

    # ------------------------------------------------------------------------ the hooks
    def _exists(self) -> bool:
        spark = self.spark
        try:
            store = self._store(spark)
            if not store.exists(spark):
                return False
            if not self.partition_by:
                return True
            return store.read(spark).filter(self.predicate()).limit(1).count() > 0
        except TargetError:
            raise
        except Exception as exc:
            raise self.spark_error("check", exc) from exc

    def _read(self) -> DataFrame:
        """The table; for a partitioned target only the rows of its partition."""
        spark = self.spark
        store = self._store(spark)
        if not store.exists(spark):  # Spark Connect would only fail at the first action
            raise TargetError(f"cannot read {self.location}: the table does not exist")
        try:
            frame = store.read(spark, self.version_as_of)
            return frame.filter(self.predicate()) if self.partition_by else frame
        except TargetError:
            raise
        except Exception as exc:
            raise self.spark_error("read", exc) from exc

    def _write(self, obj: Any) -> None:
        df = self.to_spark(obj)
        spark = self.spark
        try:
            store = self._store(spark)
            if self.mode == "merge":
                self._merge(spark, store, df)
            elif self.partition_by:
                self._replace_partition(spark, store, df)
            else:
                store.write(spark, df)
        except TargetError:
            raise
        except Exception as exc:
            raise self.spark_error("write", exc) from exc

    def data_version(self) -> str | None:
        """``delta:v<n>``: the table's version (the pinned one for ``version_as_of``); for a
        partition target ``delta:files:<digest>`` over the data files of its partition, so
        that writes to other partitions do not count (None when the table's log is not on this
        machine). None for a merge target: which rows a run merged cannot be told apart from
        those of the others."""
        if self.version_as_of is not None:
            return f"delta:v{self.version_as_of}"
        if self.mode == "merge":
            return None
        spark = self.spark
        try:
            store = self._store(spark)
            folder = store.log_folder(spark)
            if folder is None and self.partition_by:
                return None  # the engine's history is the whole table's: every partition's
            if folder is None:  # a catalog table elsewhere: the engine says its version
                version = store.history_version(spark) if store.exists(spark) else None
            elif self.partition_by:
                files = partition_files(folder, self._values("version"))
                if not files:
                    return None
                digest = hashlib.sha256("\n".join(files).encode()).hexdigest()
                return f"delta:files:{digest}"
            else:
                version = log_version(folder)
        except TargetError:
            raise
        except Exception as exc:
            raise self.spark_error("version", exc) from exc
        return None if version is None else f"delta:v{version}"

    def _remove(self) -> None:
        """Drop the table; for a partitioned target delete only its partition's rows. A merged
        table is dropped as a whole: which rows a run merged cannot be told apart, and every
        task instance writing it then finds its output gone and runs again."""
        spark = self.spark
        try:
            store = self._store(spark)
            if not self.partition_by:
                store.remove(spark)
                return
            predicate = self.predicate()
            if not store.exists(spark):
                return
            with _table_lock(store.lock_key):
                self._sql(spark, f"DELETE FROM {store.sql_name} WHERE {predicate}", "DELETE")
        except TargetError:
            raise
        except Exception as exc:
            action = "delete the partition of" if self.partition_by else "drop"
            raise TargetError(f"cannot {action} {self.location}: {short_message(exc)}") \
                from exc

    # ------------------------------------------------------------------------- the modes
    def _columns(self, df: DataFrame) -> dict[str, str]:
        """The frame's columns by lower-case name (Spark resolves names without case)."""
        return {c.lower(): c for c in df.columns}

    def _replace_partition(self, spark: SparkSession, store: _PathTable | _CatalogTable,
                           df: DataFrame) -> None:
        values = self._values("write")
        columns = self._columns(df)
        missing = {c: v for c, v in values.items() if c.lower() not in columns}
        if missing:  # the task's parameters say which partition its rows belong to
            df = df.selectExpr("*", *(f"{sql_literal(v)} AS {quote_identifier(c)}"
                                      for c, v in missing.items()))
        if len(missing) < len(values):  # rows of another partition would be lost or misfiled
            stray = df.filter(f"NOT ({self.predicate(null_safe=True)})").limit(1).count()
            if stray:
                shown = ", ".join(c for c in values if c not in missing)
                raise TargetError(
                    f"{self.owner or self.location}: the frame written to {self.table_uri} has "
                    f"rows with {shown} other than {self.partition_spec}; a task with "
                    "partition_by writes only its own partition (drop the column to have it "
                    "set from the parameters)")
        predicate = self.predicate()
        with _table_lock(store.lock_key):
            if not store.exists(spark):
                try:
                    store.create(spark, df, self.partition_by)
                    return
                except Exception:
                    if not store.exists(spark):
                        raise
                # another writer created the table meanwhile: replace our partition in it
            _retrying(lambda: store.replace_where(spark, df, predicate))

    def _merge(self, spark: SparkSession, store: _PathTable | _CatalogTable,
               df: DataFrame) -> None:
        columns = self._columns(df)
        for key in self.merge_keys:
            if key.lower() not in columns:
                raise TargetError(f"cannot merge into {self.location}: the frame has no column "
                                  f"{key!r} (merge_keys {list(self.merge_keys)})")
        with _table_lock(store.lock_key):
            if not store.exists(spark):
                try:
                    store.create(spark, df, ())
                    return
                except Exception:
                    if not store.exists(spark):
                        raise
            view = f"luisy_merge_{uuid.uuid4().hex}"
            # null-safe keys: a rerun updates rows whose key holds a NULL instead of adding
            # them again
            on = " AND ".join(f"t.{quote_identifier(k)} <=> s.{quote_identifier(k)}"
                              for k in self.merge_keys)
            df.createOrReplaceTempView(view)
            try:
                self._sql(spark, f"MERGE INTO {store.sql_name} AS t USING {view} AS s ON {on} "
                          "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
                          "MERGE INTO")
            finally:
                with contextlib.suppress(Exception):
                    spark.catalog.dropTempView(view)

    def _sql(self, spark: SparkSession, statement: str, operation: str) -> None:
        """Run a table statement (retried on commit conflicts); an engine that lacks the
        operation is named in one line, with what it said."""
        try:
            _retrying(lambda: spark.sql(statement).collect())
        except Exception as exc:
            if not _has_marker(exc, _UNSUPPORTED_MARKERS):
                raise
            from luisy.spark.session import describe_session

            raise TargetError(
                f"cannot {operation} {self.location}: the engine ({describe_session(spark)}) "
                f"does not support {operation} on this table; it needs a Delta table on an "
                f"engine with Delta Lake ({short_message(exc, limit=200)})") from exc


__all__ = ["DELTA_DIR", "MODES", "DeltaOptionsError", "DeltaTableTarget",
           "InvalidIdentifierError", "check_identifier", "check_write_options",
           "is_delta_table_folder", "quote_identifier", "sql_literal"]
