"""``SparkMock``: luisy 1.x's fake Spark session for tests, backed by a real engine.

1.x's ``SparkMock`` was a ``unittest.mock.Mock`` with a dict of tables. This one keeps its
interface (``data``, ``tables``, ``table()``, ``sql('SELECT 1 from ...')``) on top of luisy's
embedded Spark engine (pysail, :func:`luisy.spark.session.embedded_session`): the tables are
real Delta tables, and everything else a session has (``createDataFrame``, ``read``,
``sql``) is the real session's, so SparkTasks run for real in tests.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from luisy.config import current
from luisy.errors import TargetError
from luisy.targets.base import is_spark_frame
from luisy.targets.delta import DELTA_DIR, DeltaTableTarget, is_delta_table_folder

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: how luisy describes a SparkMock in logs (``engine: ... at ...``)
ENGINE = "SparkMock on embedded pysail"

_SELECT_1 = re.compile(r"^\s*SELECT\s+1\s+FROM\s+(\S+)", re.IGNORECASE)
_DROP_TABLE = re.compile(r"^\s*DROP\s+TABLE\s+(IF\s+EXISTS\s+)?(\S+?)\s*;?\s*$", re.IGNORECASE)


class TableNotFoundError(TargetError, KeyError):
    """A table SparkMock does not hold: a ``KeyError``, as 1.x's dict lookup raised (from
    ``sql('SELECT 1 from ...')`` also pyspark's ``AnalysisException``, as in 1.x)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""

    @classmethod
    def from_sql(cls, message: str) -> TableNotFoundError:
        """The error ``sql()`` raises: also an ``AnalysisException`` when pyspark is there."""
        return _sql_error_class()(message)


@functools.cache
def _sql_error_class() -> type[TableNotFoundError]:
    try:
        from pyspark.errors.exceptions.connect import AnalysisException
    except ImportError:
        return TableNotFoundError

    class TableNotFoundAnalysisError(TableNotFoundError, AnalysisException):
        """:class:`TableNotFoundError` that pyspark code catches as ``AnalysisException``."""

        def __init__(self, message: str):
            AnalysisException.__init__(self, message=message)
            self.args = (message,)

    return TableNotFoundAnalysisError


def _table_parts(table_uri: str) -> tuple[str, str, str]:
    """``("A", "B", "raw")`` for ``A.B.raw``; back-quoted parts keep their quotes."""
    parts = str(table_uri).split(".")  # back-quoted names stay quoted: the target checks them
    if len(parts) != 3:
        raise TableNotFoundError(f"{table_uri!r} is not a table name of the form "
                                 "catalog.schema.table")
    return parts[0], parts[1], parts[2]


def table_path(table_uri: str) -> str:
    """The folder the Delta table ``table_uri`` lives in: where luisy's DeltaTableTarget keeps
    it on the embedded engine (``<working_dir>/.luisy-delta/<catalog>/<schema>/<table>``)."""
    catalog, schema, table = _table_parts(table_uri)
    return DeltaTableTarget(catalog=catalog, schema=schema, table_name=table).table_path()


def _is_table(path: str) -> bool:
    return is_delta_table_folder(path)


class SparkTables(MutableMapping):
    """``SparkMock.data``: table name (``catalog.schema.table``) -> its data, as a pandas
    frame; a view of the Delta tables in the current working dir.

    Setting an item writes the table (a pandas or Spark frame, or anything ``pandas.
    DataFrame(data=...)`` takes, as 1.x's ``toPandas()`` did); deleting drops it.
    """

    def __init__(self, mock: SparkMock | None = None):
        self._mock = mock

    @property
    def session(self) -> SparkSession:
        """The real session that reads and writes the tables."""
        return self._mock.session if self._mock is not None else _embedded()

    def _root(self) -> str:
        return os.path.join(current().working_dir, DELTA_DIR)

    def frame(self, table_uri: str) -> DataFrame:
        """The table as a Spark frame."""
        path = table_path(table_uri)
        if not _is_table(path):
            raise TableNotFoundError(f"Table {table_uri} does not exist")
        return self.session.read.format("delta").load(path)

    def __getitem__(self, table_uri: str) -> Any:
        return self.frame(table_uri).toPandas()

    def __setitem__(self, table_uri: str, value: Any) -> None:
        path = table_path(table_uri)
        if not is_spark_frame(value):
            import pandas as pd

            frame = value if isinstance(value, pd.DataFrame) else pd.DataFrame(data=value)
            value = self.session.createDataFrame(frame)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        (value.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
         .save(path))

    def __delitem__(self, table_uri: str) -> None:
        path = table_path(table_uri)
        if not _is_table(path):
            raise TableNotFoundError(f"Table {table_uri} does not exist")
        shutil.rmtree(path)

    def __contains__(self, table_uri: object) -> bool:
        try:
            return _is_table(table_path(str(table_uri)))
        except TargetError:
            return False

    def __iter__(self) -> Iterator[str]:
        root = self._root()
        if not os.path.isdir(root):
            return
        for catalog in sorted(os.listdir(root)):
            for schema in sorted(_subdirs(os.path.join(root, catalog))):
                for table in sorted(_subdirs(os.path.join(root, catalog, schema))):
                    if _is_table(os.path.join(root, catalog, schema, table)):
                        yield f"{catalog}.{schema}.{table}"

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"SparkTables({list(self)})"


def _subdirs(path: str) -> list[str]:
    return [n for n in os.listdir(path) if os.path.isdir(os.path.join(path, n))] \
        if os.path.isdir(path) else []


def _embedded() -> SparkSession:
    from luisy.spark.session import embedded_session

    return embedded_session()


class _Tables:
    """``SparkMock.data``, on the class (as 1.x's class-level dict) and on instances."""

    def __get__(self, obj: SparkMock | None, owner: type | None = None) -> SparkTables:
        return SparkTables(obj)

    def __set__(self, obj: SparkMock, value: Any) -> None:
        tables = SparkTables(obj)
        tables.clear()
        tables.update(value)


class SparkMock:
    """luisy 1.x's fake Spark session, backed by luisy's embedded Spark engine (pysail).

    As in 1.x: ``Config().spark.data['A.B.raw'] = df`` makes the Delta table ``A.B.raw``,
    which a ``deltatable_input``/``deltatable_output`` task then reads; ``spark.tables``
    lists the tables (``'A.B.interim' in Config().spark.tables`` after a build wrote it);
    ``spark.table(name)`` returns a frame with ``toPandas()``; ``spark.sql('SELECT 1 from
    A.B.raw')`` is ``True`` or raises ``AnalysisException``. ``create_testing_config`` puts
    a fresh one into ``Config()`` (``mock_spark=True``, its default).

    What differs from 1.x:

    - the tables are real Delta tables in ``<working_dir>/.luisy-delta/`` (where luisy keeps
      them on the embedded engine), not a dict in memory: ``data`` is a view of the tables of
      the current working dir, shared by all SparkMocks, values read back as pandas frames;
      a table is gone with its working dir, and empty it with ``SparkMock.data.clear()``
      (assigning ``SparkMock.data = {}`` on the class would replace the view);
    - ``table()`` returns a real Spark frame: its ``write...saveAsTable(name)`` goes to the
      engine's own catalog, not to ``data`` (write a table with ``data[name] = df``);
    - it is not a ``Mock``: there are no call records, and an attribute the real session
      lacks raises ``AttributeError``; every attribute it does not define itself
      (``createDataFrame``, ``read``, ``catalog``, other ``sql`` statements) is the real
      session's, started on first use (about a second; needs ``luisy[spark]``);
    - ``sql('DROP TABLE [IF EXISTS] c.s.t')`` drops a table of ``data``; ``stop()`` does
      nothing (the engine is shared by the process: ``luisy.spark.stop_embedded()``).
    """

    data = _Tables()

    def __init__(self, session: SparkSession | None = None):
        """``session``: the real session to back it (default: the embedded engine's)."""
        from luisy.spark.session import register_session

        self._session = session
        register_session(self, ENGINE, "in-process", path_tables=True)

    @property
    def session(self) -> SparkSession:
        """The real session behind it (the embedded engine's is started on first use)."""
        return self._session if self._session is not None else _embedded()

    @property
    def tables(self) -> list[str]:
        """The names of the tables ``data`` holds (``catalog.schema.table``)."""
        return list(self.data)

    def table(self, table_uri: str) -> DataFrame:
        """The table ``table_uri`` as a Spark frame (``TableNotFoundError`` if there is none)."""
        return self.data.frame(table_uri)

    def sql(self, qry: str) -> Any:
        """1.x's existence check ``SELECT 1 from <table>`` (``True``, or raises
        ``AnalysisException``), ``DROP TABLE`` of a table of ``data``; any other statement
        runs on the real session."""
        found = _SELECT_1.match(qry)
        if found:
            name = found.group(1).rstrip(";")
            if name in self.data:
                return True
            raise TableNotFoundError.from_sql(f"Table {name} does not exist")
        found = _DROP_TABLE.match(qry)
        if found and len(found.group(2).split(".")) == 3:
            name = found.group(2)
            if name in self.data:
                del self.data[name]
            elif not found.group(1):
                raise TableNotFoundError.from_sql(f"Table {name} does not exist")
            return None
        return self.session.sql(qry)

    def stop(self) -> None:
        """Nothing: the embedded engine is shared by the process (see the class doc)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.session, name)

    def __repr__(self) -> str:
        return f"SparkMock({'embedded pysail' if self._session is None else self._session!r})"


__all__ = ["ENGINE", "SparkMock", "SparkTables", "TableNotFoundError", "table_path"]
