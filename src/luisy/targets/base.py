"""The target interface, after Kedro's ``AbstractDataset``: one public API, small hooks.

Subclasses implement ``_read``, ``_write``, ``_exists`` and ``_remove``; the public methods add
what every target needs the same way: atomic writes for local files and errors that name the
file or table.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import Any

from luisy.errors import TargetError
from luisy.targets.written import Written


def is_spark_frame(obj: Any) -> bool:
    """True for classic and Spark Connect frames, without importing pyspark for pandas data."""
    module = type(obj).__module__
    return module.startswith("pyspark.") and type(obj).__name__ == "DataFrame"


class Target(ABC):
    """Where one output lives; it knows paths and formats, never the task that writes it."""

    file_ending: str = ""
    #: True when the target holds pandas data (SparkTask converts Spark frames before writing)
    requires_pandas: bool = False
    #: True when a Spark frame is stored as it is (tables, Spark-written folders); a SparkTask
    #: turns Spark frames into pandas for the others
    accepts_spark_frames: bool = False

    @classmethod
    @abstractmethod
    def for_paths(cls, outfile: str, outdir: str, **kwargs: Any) -> Target:
        """The target of a task whose output file would be ``outfile`` in ``outdir``."""

    @property
    @abstractmethod
    def path(self) -> str:
        """Where it lives; for tables an identifier under the working dir (1.x hash file key)."""

    @property
    def location(self) -> str:
        """What users are shown in messages: a file path or a table name."""
        return self.path

    @property
    def uri(self) -> str:
        """A URI naming the output, ``file:///...`` for files (a Prefect asset key is made
        from it): tables and remote stores say theirs."""
        return "file://" + os.path.abspath(self.path)

    def exists(self) -> bool:
        return self._exists()

    def folder(self) -> str | None:
        """The local folder the output lives in (None: not a local file or folder)."""
        return None

    def signature(self) -> Any:
        """What changes whenever the output is written again (None: cannot tell), so a run
        can check that it wrote its output."""
        return None

    def data_version(self) -> str | None:
        """A version of what the target holds now, for targets that keep one cheaply (a
        Delta table's log); None: it keeps none (local files are versioned by their bytes,
        see :mod:`luisy.cache.data_version`)."""
        return None

    def read(self) -> Any:
        try:
            return self._read()
        except TargetError:
            raise
        except FileNotFoundError as exc:
            raise TargetError(f"cannot read {self.location}: it does not exist") from exc
        except Exception as exc:
            raise TargetError(f"cannot read {self.location}: {type(exc).__name__}: {exc}") \
                from exc

    def write(self, obj: Any) -> Written | None:
        """Store ``obj``; returns what the write knows of the bytes it put in place (their
        digest, for the key's record) or None when it cannot tell (a subclass's ``_write``
        that returns anything else is taken to know nothing)."""
        try:
            written = self._write(obj)
            return written if isinstance(written, Written) else None
        except TargetError:
            raise
        except Exception as exc:
            raise TargetError(f"cannot write {self.location}: {type(exc).__name__}: {exc}") \
                from exc

    def remove(self) -> None:
        self._remove()

    def make_dir(self, path: str) -> None:  # noqa: B027 (a no-op hook kept for 1.x callers)
        """luisy 1.x hook; directories are created by the atomic write now."""

    @abstractmethod
    def _read(self) -> Any: ...

    @abstractmethod
    def _write(self, obj: Any) -> Written | None: ...

    @abstractmethod
    def _exists(self) -> bool: ...

    @abstractmethod
    def _remove(self) -> None: ...

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"


class CloudTarget(Target):
    """Data that lives off this machine (tables, blob storage); its ``path`` is only a key."""

    accepts_spark_frames = True

    def __init__(self, outdir: str | None = None, **kwargs: Any):
        self.outdir = outdir or ""
        self.kwargs = kwargs

    @classmethod
    def for_paths(cls, outfile: str, outdir: str, **kwargs: Any) -> Target:
        return cls(outdir=outdir, **kwargs)
