"""Class decorators: wiring (requires, inherits), layers, file names and output formats.

Every output decorator works bare (``@csv_output``) and called (``@csv_output(sep=';')``);
keyword options go to the pandas reader/writer.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from luisy.errors import TaskDefinitionError
from luisy.targets.base import Target
from luisy.targets.local import (
    CSVTarget,
    DirectoryTarget,
    FeatherTarget,
    HDFTarget,
    JSONTarget,
    ParquetDirTarget,
    ParquetTarget,
    PickleTarget,
    XLSXTarget,
)

T = TypeVar("T", bound=type)


def _bare_or_called(make: Callable[..., Callable[[T], T]]) -> Callable[..., Any]:
    """Let ``@deco`` and ``@deco(**opts)`` both work."""

    def entry(cls_py: Any = None, **kwargs: Any) -> Any:
        decorator = make(**kwargs)
        return decorator(cls_py) if isinstance(cls_py, type) else decorator

    entry.__name__ = make.__name__
    entry.__doc__ = make.__doc__
    return entry


def _copy_params(cls: type, sources: tuple[type, ...]) -> None:
    """Copy the sources' parameters onto ``cls``; parameters ``cls`` already has win."""
    known = {name for name, _ in cls.get_params()}
    for source in sources:
        for name, param in source.get_params():
            if name not in known:
                setattr(cls, name, param)
                known.add(name)
    cls.__dict__.get("_params_cache") is not None and delattr(cls, "_params_cache")


def inherits(*task_classes: type) -> Callable[[T], T]:
    """Give the decorated task the parameters of ``task_classes`` (its own ones win)."""
    if not task_classes:
        raise TaskDefinitionError("inherits() needs at least one task class")

    def decorator(cls: T) -> T:
        _copy_params(cls, task_classes)
        return cls

    return decorator


def requires(*task_classes: type, as_dict: bool = False) -> Callable[[T], T]:
    """Inherit the parameters of ``task_classes`` and require one instance of each.

    One class: ``input()`` is its target; several: a list, or with ``as_dict=True`` a dict keyed
    by class name.
    """
    if not task_classes:
        raise TaskDefinitionError("requires() needs at least one task class")

    def decorator(cls: T) -> T:
        _copy_params(cls, task_classes)

        def _requires(self: Any) -> Any:
            if len(task_classes) == 1 and not as_dict:
                return self.clone(task_classes[0])
            if as_dict:
                return {t.get_task_family(): self.clone(t) for t in task_classes}
            return [self.clone(t) for t in task_classes]

        cls.requires = _requires
        return cls

    return decorator


def prefect_options(
    retries: int | None = None,
    retry_delay_seconds: float | None = None,
    timeout_seconds: float | None = None,
    tags: list[str] | tuple[str, ...] | None = None,
    group_size: int | None = None,
    flow_name: str | None = None,
) -> Callable[[T], T]:
    """Prefect settings for the task runs of this class (same as class attributes).

    ``group_size=N`` lets up to N ready tasks of the class share one task run: for many tiny
    tasks, where Prefect's per-run cost would dominate. ``flow_name`` names the Prefect flow
    of builds rooted at this class (``luisy.build``, the CLI and ``luisy.flow`` alike, so they
    show under one flow in the UI); by default it is the task family.
    """
    given = {"retries": retries, "retry_delay_seconds": retry_delay_seconds,
             "timeout_seconds": timeout_seconds,
             "tags": tuple(tags) if tags is not None else None, "group_size": group_size,
             "flow_name": flow_name}

    def decorator(cls: T) -> T:
        for attr, value in given.items():
            if value is not None:
                setattr(cls, attr, value)
        return cls

    return decorator


def _layer(name: str) -> Callable[..., Any]:
    def make() -> Callable[[T], T]:
        def decorator(cls: T) -> T:
            cls.layer = name
            return cls

        return decorator

    make.__name__ = name
    make.__doc__ = f"Outputs go to ``<working_dir>/<project>/{name}/``."
    return _bare_or_called(make)


raw = _layer("raw")
interim = _layer("interim")
final = _layer("final")


def project_name(name: str) -> Callable[[T], T]:
    """Override the project folder (by default the task module's top-level package)."""

    def decorator(cls: T) -> T:
        cls.project_name = name
        return cls

    return decorator


def _auto_filename(excl_params: list[str] | tuple[str, ...] | None = None,
                   excl_none: bool = False) -> Callable[[T], T]:
    """File name ``<Family>_<p1>=<v1>_...`` over significant parameters sorted by name."""
    from luisy.tasks.base import auto_file_name

    excluded = tuple(excl_params or ())

    def decorator(cls: T) -> T:
        def get_file_name(self: Any) -> str:
            return auto_file_name(self, excluded, excl_none)

        cls.get_file_name = get_file_name
        return cls

    return decorator


_auto_filename.__name__ = "auto_filename"
auto_filename = _bare_or_called(_auto_filename)


def _output_decorator(target_cls: type[Target]) -> Callable[..., Any]:
    def make(**kwargs: Any) -> Callable[[T], T]:
        def decorator(cls: T) -> T:
            cls.target_cls = target_cls
            cls.target_kwargs = kwargs
            return cls

        return decorator

    make.__name__ = f"{target_cls.__name__}_output"
    make.__doc__ = f"Store the output with :class:`{target_cls.__name__}`."
    return _bare_or_called(make)


pickle_output = _output_decorator(PickleTarget)
csv_output = _output_decorator(CSVTarget)
json_output = _output_decorator(JSONTarget)
xlsx_output = _output_decorator(XLSXTarget)
hdf_output = _output_decorator(HDFTarget)
feather_output = _output_decorator(FeatherTarget)
parquet_output = _output_decorator(ParquetTarget)


def _folder_outfile(self: Any) -> str:
    return os.path.join(self.get_outdir(), self.get_folder_name())


def _parquetdir_output(outdir: str | None = None) -> Callable[[T], T]:
    """A folder of parquet parts named ``outdir`` or by ``get_folder_name()``."""

    def decorator(cls: T) -> T:
        if outdir is not None:
            cls.get_folder_name = lambda self: outdir
        if not hasattr(cls, "get_folder_name"):
            raise TaskDefinitionError(
                f"{cls.__name__}: parquetdir_output needs outdir='...' or a get_folder_name() "
                "method"
            )
        cls.target_cls = ParquetDirTarget
        cls.target_kwargs = {}
        cls.get_outfile = _folder_outfile
        return cls

    return decorator


_parquetdir_output.__name__ = "parquetdir_output"
parquetdir_output = _bare_or_called(_parquetdir_output)


def make_directory_output(read_file_func: Callable[[str], Any],
                          regex_pattern: str | None = None) -> Callable[[T], T]:
    """An ExternalTask whose output is a folder; ``read()`` yields ``read_file_func(path)``
    per matching file, skipping ``None``."""
    from luisy.tasks.base import ExternalTask

    def decorator(cls: T) -> T:
        if not issubclass(cls, ExternalTask):
            raise TaskDefinitionError(
                f"{cls.__name__}: make_directory_output works on ExternalTasks only")
        if not hasattr(cls, "get_folder_name"):
            raise TaskDefinitionError(
                f"{cls.__name__}: make_directory_output needs a get_folder_name() method")
        cls.target_cls = type(
            f"{cls.__name__}DirectoryTarget",
            (DirectoryTarget,),
            {"read_file": staticmethod(read_file_func), "regex_pattern": regex_pattern},
        )
        cls.target_kwargs = {}
        cls.get_outfile = _folder_outfile
        return cls

    return decorator


# luisy 1.x imported the Spark storage decorators from here (pyspark stays optional: they
# import it only when a table or blob is read or written)
from luisy.spark.decorators import (  # noqa: E402
    azure_blob_storage_input,
    azure_blob_storage_output,
    deltatable_input,
    deltatable_output,
)

__all__ = [
    "auto_filename", "azure_blob_storage_input", "azure_blob_storage_output", "csv_output",
    "deltatable_input", "deltatable_output", "feather_output", "final", "hdf_output",
    "inherits", "interim", "json_output", "make_directory_output", "parquet_output",
    "parquetdir_output", "pickle_output", "prefect_options", "project_name", "raw",
    "requires", "xlsx_output",
]
