"""Class decorators: wiring (requires, inherits), layers, file names and output formats.

Every output decorator works bare (``@csv_output``) and called (``@csv_output(sep=';')``);
keyword options go to the pandas reader/writer.

A decorator used wrongly is a :class:`~luisy.errors.TaskDefinitionError` naming the decorator
and the class, raised when the class is decorated (at import of its module), not when a build
first meets it: on something that is no class (a function would be replaced by a decorator),
with an argument that is no task class, an option the decorator or format does not take, or
a second output decorator on one class.
"""
from __future__ import annotations

import difflib
import inspect
import os
import re
import reprlib
from collections.abc import Callable, Collection, Mapping
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
from luisy.tasks.base import DATA_VERSION_MODES, ExternalTask, Task, auto_file_name

T = TypeVar("T", bound=type)


def _described(obj: Any) -> str:
    """``obj`` in words for a message: what it is and its name."""
    if isinstance(obj, Task):
        return f"the task {obj} (an instance: give its class {type(obj).__name__})"
    if isinstance(obj, type):
        return f"the class {obj.__name__}"
    name = getattr(obj, "__name__", None)
    return f"the {type(obj).__name__} {name}" if name else \
        f"{reprlib.repr(obj)} (a {type(obj).__name__})"


def _class_decorator(name: str, apply: Callable[[Any], None],
                     base: type = object) -> Callable[[T], T]:
    """The decorator ``@name``: ``apply`` to the class it decorates, which it returns.

    Anything but a class is refused: a function so decorated would be replaced by the
    decorator's result. Classes need only be subclasses of ``base``: layers, file names and
    output formats are class attributes, so a mixin may carry them too (luisy 1.x allowed it);
    wiring needs a task.
    """

    def decorator(cls: T) -> T:
        if not isinstance(cls, type):
            raise TaskDefinitionError(f"@{name} decorates classes; got {_described(cls)}")
        if not issubclass(cls, base):
            raise TaskDefinitionError(
                f"{cls.__name__}: @{name} works on {base.__name__} subclasses only")
        apply(cls)
        return cls

    return decorator


def _check_options(name: str, cls: type, given: Collection[str], takes: Collection[str],
                   where: str = "") -> None:
    """Refuse an option ``@name`` does not take, naming it, a close match and the ones it
    takes: a misspelt one would otherwise be dropped (or fail only when a file is read)."""
    unknown = sorted(set(given) - set(takes))
    if unknown:
        close = difflib.get_close_matches(unknown[0], takes, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TaskDefinitionError(
            f"{cls.__name__}: @{name}{where} got the unknown option {unknown[0]!r}{hint}; "
            f"it takes {', '.join(sorted(takes)) or 'no options'}")


def _bare_or_called(make: Callable[..., Callable[[T], T]]) -> Callable[..., Any]:
    """Let ``@deco`` and ``@deco(**opts)`` both work.

    An option ``make`` does not take is refused (with the class it decorates, as the other
    mistakes, rather than Python's TypeError); ``make`` taking ``**options`` checks them
    itself. ``@deco(x)``, a positional argument that is no class, is refused as decorating it.
    """
    takes = inspect.signature(make).parameters
    checks_itself = any(p.kind is p.VAR_KEYWORD for p in takes.values())

    def entry(cls_py: Any = None, **kwargs: Any) -> Any:
        if checks_itself or set(kwargs) <= set(takes):
            decorator = make(**kwargs)
        else:
            decorator = _class_decorator(
                make.__name__, lambda cls: _check_options(make.__name__, cls, kwargs, takes))
        return decorator if cls_py is None else decorator(cls_py)

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


def _wiring(name: str, task_classes: tuple[Any, ...],
            apply: Callable[[type[Task]], None]) -> Callable[[T], T]:
    """``@requires``/``@inherits`` of ``task_classes``, which must be task classes (a class
    name as a string or another class would end in an ``AttributeError`` here, an instance in
    a ``TypeError`` when the graph is built). Checked when the class is decorated, to name
    it; no classes at all is refused at once, as luigi and luisy 1.x did (a ``TypeError``)."""
    if not task_classes:
        raise TaskDefinitionError(f"@{name}() needs at least one task class")

    def wire(cls: type[Task]) -> None:
        for required in task_classes:
            if not (isinstance(required, type) and issubclass(required, Task)):
                raise TaskDefinitionError(f"{cls.__name__}: @{name} takes task classes; "
                                          f"got {_described(required)}")
        _copy_params(cls, task_classes)
        apply(cls)

    return _class_decorator(name, wire, base=Task)


def inherits(*task_classes: type[Task]) -> Callable[[T], T]:
    """Give the decorated task the parameters of ``task_classes`` (its own ones win)."""
    return _wiring("inherits", task_classes, lambda cls: None)


def requires(*task_classes: type[Task], as_dict: bool = False) -> Callable[[T], T]:
    """Inherit the parameters of ``task_classes`` and require one instance of each.

    One class: ``input()`` is its target; several: a list, or with ``as_dict=True`` a dict keyed
    by class name.
    """

    def _requires(self: Any) -> Any:
        if len(task_classes) == 1 and not as_dict:
            return self.clone(task_classes[0])
        if as_dict:
            return {t.get_task_family(): self.clone(t) for t in task_classes}
        return [self.clone(t) for t in task_classes]

    def apply(cls: type[Task]) -> None:
        cls.requires = _requires

    return _wiring("requires", task_classes, apply)


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

    def apply(cls: type) -> None:
        for attr, value in given.items():
            if value is not None:
                setattr(cls, attr, value)

    return _class_decorator("prefect_options", apply)


def data_version(mode: str | Callable[[Any], Any] = "content") -> Callable[[T], T]:
    """How the data this task takes from outside the graph is versioned: an ExternalTask's
    file or folder, the table of ``@deltatable_input``. A new version reruns what reads it.

    * ``"content"`` (default): the bytes' sha256, read again only when a file's size or
      mtime changed (a touch reruns nothing); a Delta table's version;
    * ``"mtime"``: size and mtime only, nothing is read (a touch reruns);
    * a function of the task, e.g. ``lambda task: row_count(task.output().path)``: what it
      returns is the version (``None``: none);
    * ``"none"``: no version: reruns follow code and parameters only, as in luisy 1.x.
    """
    def apply(cls: type) -> None:
        if not (callable(mode) or mode in DATA_VERSION_MODES):
            raise TaskDefinitionError(
                f"{cls.__name__}: @data_version({mode!r}): give one of "
                f"{', '.join(repr(m) for m in DATA_VERSION_MODES)} or a function of the task")
        # a function is kept as a staticmethod: called with the task, not bound to it
        cls.data_version_mode = staticmethod(mode) if callable(mode) else mode

    return _class_decorator("data_version", apply, base=Task)


def _layer(name: str) -> Callable[..., Any]:
    def make() -> Callable[[T], T]:
        def apply(cls: type) -> None:
            cls.layer = name

        return _class_decorator(name, apply)

    make.__name__ = name
    make.__doc__ = f"Outputs go to ``<working_dir>/<project>/{name}/``."
    return _bare_or_called(make)


raw = _layer("raw")
interim = _layer("interim")
final = _layer("final")


def project_name(name: str) -> Callable[[T], T]:
    """Override the project folder (by default the task module's top-level package).

    ``@project_name`` without the name is refused naming the class: it would replace the
    class by a decorator.
    """
    if not isinstance(name, str):
        raise TaskDefinitionError(f"@project_name takes the project's name, as in "
                                  f"@project_name('my_project'); got {_described(name)}")

    def apply(cls: type) -> None:
        cls.project_name = name

    return _class_decorator("project_name", apply)


def _auto_filename(excl_params: list[str] | tuple[str, ...] | None = None,
                   excl_none: bool = False) -> Callable[[T], T]:
    """File name ``<Family>_<p1>=<v1>_...`` over significant parameters sorted by name."""
    excluded = tuple(excl_params or ())

    def apply(cls: type) -> None:
        def get_file_name(self: Any) -> str:
            return auto_file_name(self, excluded, excl_none)

        cls.get_file_name = get_file_name

    return _class_decorator("auto_filename", apply)


_auto_filename.__name__ = "auto_filename"
auto_filename = _bare_or_called(_auto_filename)


def _set_output(name: str, cls: type, target_cls: type[Target],
                target_kwargs: dict[str, Any]) -> None:
    """Give ``cls`` its output; refused when ``cls`` itself already has one: of two output
    decorators on one class the outer one would silently win (a subclass may replace the
    output it inherits)."""
    earlier = vars(cls).get("target_cls")
    if earlier is not None:
        raise TaskDefinitionError(
            f"{cls.__name__}: @{name} would replace the output {earlier.__name__} it "
            "already has (from another output decorator); give the class one")
    cls.target_cls = target_cls
    cls.target_kwargs = target_kwargs


#: the options of the formats luisy writes itself (pandas formats take their reader's)
_OWN_OPTIONS = {PickleTarget: ("protocol",), JSONTarget: ("indent",)}


def _pandas_options(function: Callable[..., Any], passed: int) -> list[str] | None:
    """The keyword options of a pandas reader or writer after the ``passed`` leading arguments
    luisy gives itself (the path; ``self`` too for a writer); None when it takes any
    (``**kwargs``: ``read_parquet`` and ``read_hdf`` pass them to the engine)."""
    params = list(inspect.signature(function).parameters.values())[passed:]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind is not p.VAR_POSITIONAL]


def _check_format_options(name: str, cls: type, target_cls: type[Target],
                          options: dict[str, Any]) -> None:
    """Refuse an option the format does not take, when the class is decorated: a misspelt one
    (``sepp=';'``) would be dropped when the file is written and fail, if at all, only when it
    is read back, after the task ran.

    The pandas formats take their reader's options and ``write_kwargs``, a dict of the
    writer's; pandas is imported for this only when options are given (a module that gives
    pandas options reads or writes frames anyway).
    """
    if not options:
        return
    reader = getattr(target_cls, "reader", "")
    if not reader:
        _check_options(name, cls, options, _OWN_OPTIONS[target_cls])
        return
    import pandas as pd

    writer = f"DataFrame.{target_cls.writer}"
    read_options = _pandas_options(getattr(pd, reader), passed=1)
    write_options = _pandas_options(getattr(pd.DataFrame, target_cls.writer), passed=2)
    if read_options is not None:
        # luisy 1.x gave a csv file's options to its writer too: say where those go now
        writer_only = sorted(set(options) - set(read_options) & set(write_options or ()))
        if writer_only:
            raise TaskDefinitionError(
                f"{cls.__name__}: @{name} got {writer_only[0]!r}, an option of {writer}, not "
                f"of pandas.{reader}: give it in write_kwargs={{{writer_only[0]!r}: ...}}")
        _check_options(name, cls, options, [*read_options, "write_kwargs"])
    write_kwargs = options.get("write_kwargs", {})
    if not isinstance(write_kwargs, Mapping):
        raise TaskDefinitionError(f"{cls.__name__}: @{name}: write_kwargs must be a dict "
                                  f"of {writer} options; got {_described(write_kwargs)}")
    if write_options is not None:
        _check_options(name, cls, write_kwargs, write_options, where=": write_kwargs")


def _output_decorator(name: str, target_cls: type[Target]) -> Callable[..., Any]:
    def make(**kwargs: Any) -> Callable[[T], T]:
        def apply(cls: type) -> None:
            _check_format_options(name, cls, target_cls, kwargs)
            _set_output(name, cls, target_cls, kwargs)

        return _class_decorator(name, apply)

    make.__name__ = name
    make.__doc__ = f"Store the output with :class:`{target_cls.__name__}`."
    return _bare_or_called(make)


pickle_output = _output_decorator("pickle_output", PickleTarget)
csv_output = _output_decorator("csv_output", CSVTarget)
json_output = _output_decorator("json_output", JSONTarget)
xlsx_output = _output_decorator("xlsx_output", XLSXTarget)
hdf_output = _output_decorator("hdf_output", HDFTarget)
feather_output = _output_decorator("feather_output", FeatherTarget)
parquet_output = _output_decorator("parquet_output", ParquetTarget)


def _folder_outfile(self: Any) -> str:
    return os.path.join(self.get_outdir(), self.get_folder_name())


def _parquetdir_output(outdir: str | None = None) -> Callable[[T], T]:
    """A folder of parquet parts named ``outdir`` or by ``get_folder_name()``."""

    def apply(cls: type) -> None:
        if outdir is not None:
            cls.get_folder_name = lambda self: outdir
        if not hasattr(cls, "get_folder_name"):
            raise TaskDefinitionError(
                f"{cls.__name__}: @parquetdir_output needs outdir='...' or a "
                "get_folder_name() method")
        _set_output("parquetdir_output", cls, ParquetDirTarget, {})
        cls.get_outfile = _folder_outfile

    return _class_decorator("parquetdir_output", apply)


_parquetdir_output.__name__ = "parquetdir_output"
parquetdir_output = _bare_or_called(_parquetdir_output)


def make_directory_output(read_file_func: Callable[[str], Any],
                          regex_pattern: str | None = None) -> Callable[[T], T]:
    """An ExternalTask whose output is a folder; ``read()`` yields ``read_file_func(path)``
    per matching file, skipping ``None``.

    Checked when the class is decorated: used bare (``@make_directory_output`` on the class:
    the class would be taken for the reading function), a ``read_file_func`` that cannot be
    called or a ``regex_pattern`` that is no regular expression would fail only in ``read()``.
    """
    if isinstance(read_file_func, type) and issubclass(read_file_func, Task):
        raise TaskDefinitionError(
            f"{read_file_func.__name__}: @make_directory_output needs the function that "
            "reads one file, as in @make_directory_output(read_file_func)")

    def apply(cls: type[ExternalTask]) -> None:
        if not callable(read_file_func):
            raise TaskDefinitionError(f"{cls.__name__}: @make_directory_output: "
                                      f"read_file_func is {_described(read_file_func)}, "
                                      "not a function")
        try:
            re.compile(regex_pattern or "")
        except re.error as exc:
            raise TaskDefinitionError(f"{cls.__name__}: @make_directory_output: "
                                      f"regex_pattern {regex_pattern!r} is no regular "
                                      f"expression: {exc}") from None
        if not hasattr(cls, "get_folder_name"):
            raise TaskDefinitionError(
                f"{cls.__name__}: @make_directory_output needs a get_folder_name() method")
        target_cls = type(
            f"{cls.__name__}DirectoryTarget",
            (DirectoryTarget,),
            {"read_file": staticmethod(read_file_func), "regex_pattern": regex_pattern},
        )
        _set_output("make_directory_output", cls, target_cls, {})
        cls.get_outfile = _folder_outfile

    return _class_decorator("make_directory_output", apply, base=ExternalTask)


# luisy 1.x imported the Spark storage decorators from here (pyspark stays optional: they
# import it only when a table or blob is read or written)
from luisy.spark_storage import (  # noqa: E402
    azure_blob_storage_input,
    azure_blob_storage_output,
    deltatable_input,
    deltatable_output,
)

__all__ = [
    "auto_filename", "azure_blob_storage_input", "azure_blob_storage_output", "csv_output",
    "data_version", "deltatable_input", "deltatable_output", "feather_output", "final",
    "hdf_output", "inherits", "interim", "json_output", "make_directory_output",
    "parquet_output", "parquetdir_output", "pickle_output", "prefect_options", "project_name",
    "raw", "requires", "xlsx_output",
]
