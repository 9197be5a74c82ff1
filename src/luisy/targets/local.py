"""Targets on the local file system (or a mounted one such as ``/dbfs``).

Each file format is a pair ``_dump(obj, path)`` / ``_load(path)``; writes go through
:func:`~luisy.targets.atomic.atomic_path`. Formats serialised here (pickle, JSON) are written
with :func:`~luisy.targets.written.write_hashed`, which gives the bytes' digest for free.
Keyword options of the decorator go to pandas.
"""
from __future__ import annotations

import functools
import glob
import json
import os
import pickle
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from luisy.errors import NotSupportedError, TargetError, WrongTypeError
from luisy.targets.atomic import TMP_MARKER, _remove, atomic_path
from luisy.targets.base import Target, is_spark_frame
from luisy.targets.written import Written, signature_of, write_hashed

if TYPE_CHECKING:
    import pandas as pd


def resolved_path(path: str | os.PathLike) -> str:
    """The one spelling of a local output's path that it is written, checked, stat-ed and
    removed under: absolute, ``.`` and ``..`` taken out by name.

    The kernel walks ``a/../b`` through ``a`` (a missing ``a`` fails, a symlinked one leads
    elsewhere) while the atomic write normalises first: given the raw path, the existence
    check looked elsewhere than the write, and a run that wrote its output was told it wrote
    nothing. Symlinks stay as spelled: a working dir that is a link, or a link inside it to
    another disk, is the user's choice, and the hash file's keys are relative to the working
    dir as the user spells it.
    """
    return os.path.abspath(path)


@functools.lru_cache(maxsize=64)
def _prefix_below(folder: str) -> str:
    """``<folder>/`` for an absolute ``folder``: paths strictly below it start with it."""
    return os.path.join(resolved_path(folder), "")


def lies_below(path: str, folder: str) -> bool:
    """Whether the resolved ``path`` is strictly below ``folder``: by name, or else once both
    have their symlinks resolved (a working dir that is a link, spelled once through the link
    and once through its target)."""
    # checked for every output of a plan: a folder's prefix is made once (a relative folder
    # is made absolute first, as the current dir may change)
    prefix = _prefix_below(folder if os.path.isabs(folder) else resolved_path(folder))
    return path.startswith(prefix) or os.path.realpath(path).startswith(
        _prefix_below(os.path.realpath(folder)))


class LocalTarget(Target):
    """A file at ``path``; subclasses say how to dump and load it."""

    requires_pandas = True

    def __init__(self, path: str | os.PathLike, **kwargs: Any):
        self._path = resolved_path(path)
        self.kwargs = kwargs

    @classmethod
    def for_paths(cls, outfile: str, outdir: str, **kwargs: Any) -> Target:
        return cls(path=outfile, **kwargs)

    @property
    def path(self) -> str:
        return self._path

    def _exists(self) -> bool:
        return os.path.exists(self._path)

    def folder(self) -> str:
        return os.path.dirname(self._path)

    def signature(self) -> tuple[int, int, int, int] | None:
        """Device, inode, mtime and size: an atomic write always gives a new inode."""
        try:
            return signature_of(os.stat(self._path))
        except FileNotFoundError:
            return None

    def _remove(self) -> None:
        _remove(self._path)

    def _write(self, obj: Any) -> Written | None:
        with atomic_path(self._path) as tmp:
            return self._dump(obj, tmp)

    def _read(self) -> Any:
        return self._load(self._path)

    def _dump(self, obj: Any, path: str) -> Written | None:
        """Write ``obj`` to the file or folder ``path``; what the write knows of its bytes
        (:func:`~luisy.targets.written.write_hashed`), None when a library wrote them."""
        raise NotSupportedError(f"{type(self).__name__} cannot be written")

    def _load(self, path: str) -> Any:
        raise NotSupportedError(f"{type(self).__name__} cannot be read")

    def is_folder(self) -> bool:
        return not os.path.splitext(self._path)[1]


class PickleTarget(LocalTarget):
    file_ending = "pkl"
    requires_pandas = False

    def _dump(self, obj: Any, path: str) -> Written:
        protocol = self.kwargs.get("protocol", pickle.HIGHEST_PROTOCOL)
        return write_hashed(path, lambda fh: pickle.dump(obj, fh, protocol=protocol))

    def _load(self, path: str) -> Any:
        with open(path, "rb") as fh:
            return pickle.load(fh)


class JSONTarget(LocalTarget):
    file_ending = "json"
    requires_pandas = False

    def _dump(self, obj: Any, path: str) -> Written:
        if not isinstance(obj, (dict, list)):
            raise WrongTypeError(f"JSONTarget needs a dict or list, got {type(obj).__name__}")
        text = json.dumps(obj, indent=self.kwargs.get("indent", 4), default=str)
        return write_hashed(path, lambda fh: fh.write(text.encode("utf-8")))

    def _load(self, path: str) -> Any:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)


class _PandasTarget(LocalTarget):
    """A pandas frame in one file: ``DataFrame.<writer>(path)`` and ``<reader>(path)``.

    Decorator options go to the reader (luisy 1.x); ``write_kwargs={...}`` go to the writer;
    options named in ``shared`` (a csv separator, say) go to both, so a file is read back as
    it was written.
    """

    #: names of the DataFrame method that writes and the pandas function that reads (pandas
    #: is imported on first use: planning and no-op builds never need it)
    writer: str = ""
    reader: str = ""
    write_defaults: dict[str, Any] = {}
    read_defaults: dict[str, Any] = {}
    shared: tuple[str, ...] = ()

    def _dump(self, obj: Any, path: str) -> None:
        import pandas as pd

        if not isinstance(obj, pd.DataFrame):
            raise WrongTypeError(f"{type(self).__name__} needs a pandas DataFrame, got "
                            f"{type(obj).__name__}")
        opts = {**self.write_defaults,
                **{k: v for k, v in self.kwargs.items() if k in self.shared},
                **self.kwargs.get("write_kwargs", {})}
        getattr(obj, self.writer)(path, **opts)

    def _load(self, path: str) -> Any:
        opts = {**self.read_defaults,
                **{k: v for k, v in self.kwargs.items() if k != "write_kwargs"}}
        import pandas as pd

        return getattr(pd, self.reader)(path, **opts)


class CSVTarget(_PandasTarget):
    file_ending = "csv"
    writer, reader = "to_csv", "read_csv"
    write_defaults = {"index": False}
    shared = ("sep", "encoding", "decimal", "quotechar", "compression")


class XLSXTarget(_PandasTarget):
    file_ending = "xlsx"
    writer, reader = "to_excel", "read_excel"


class HDFTarget(_PandasTarget):
    file_ending = "hdf"
    writer, reader = "to_hdf", "read_hdf"
    write_defaults = read_defaults = {"key": "data"}
    shared = ("key",)


class FeatherTarget(_PandasTarget):
    file_ending = "feather"
    writer, reader = "to_feather", "read_feather"


class ParquetTarget(_PandasTarget):
    """One parquet file, written and read by pandas/pyarrow."""

    file_ending = "parquet"
    writer, reader = "to_parquet", "read_parquet"


def read_parquet_dir(path: str) -> pd.DataFrame:
    """All parquet parts of a folder as one pandas frame, without Spark."""
    import pandas as pd

    parts = sorted(
        f for f in glob.glob(os.path.join(path, "**", "*.parquet"), recursive=True)
        if TMP_MARKER not in f and not os.path.basename(f).startswith(("_", "."))
    )
    if not parts:
        raise TargetError(f"cannot read {path}: it holds no parquet parts")
    frames = [pd.read_parquet(p) for p in parts]
    non_empty = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(non_empty, ignore_index=True)


class ParquetDirTarget(LocalTarget):
    """A folder of parquet parts: written by Spark for Spark frames, read by pandas."""

    file_ending = ""
    requires_pandas = False
    accepts_spark_frames = True

    def _exists(self) -> bool:
        return os.path.isdir(self._path)

    def _dump(self, obj: Any, path: str) -> None:
        if not is_spark_frame(obj):  # pandas
            os.makedirs(path)
            obj.to_parquet(os.path.join(path, "part-00000.parquet"), index=False)
        else:  # a Spark frame: Spark writes the parts
            obj.write.mode("overwrite").parquet(path)

    def _load(self, path: str) -> Any:
        return read_parquet_dir(path)


class DirectoryTarget(LocalTarget):
    """A folder of input files read one by one with a user's function (read-only)."""

    file_ending = ""
    read_file: Callable[[str], Any] | None = None
    regex_pattern: str | None = None

    def _exists(self) -> bool:
        return os.path.isdir(self._path)

    def _load(self, path: str) -> Iterator[Any]:
        names = sorted(os.listdir(path))  # now, so a missing folder fails in read()
        return self._read_files(path, names)

    def _read_files(self, path: str, names: list[str]) -> Iterator[Any]:
        pattern = re.compile(self.regex_pattern or "")
        for name in names:
            if pattern.search(name):
                content = type(self).read_file(os.path.join(path, name))
                if content is not None:
                    yield content
