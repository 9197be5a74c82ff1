"""The luisy task model: parameters, identity, wiring, outputs and the methods users call.

Tasks are plain classes (no luigi): a metaclass collects their parameters and caches instances,
so ``Interim(month=m)`` built twice is the same object and one node of the graph.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import threading
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from luisy.config import current
from luisy.errors import (
    NotSupportedError,
    OutputPathError,
    ParameterError,
    TaskDefinitionError,
    TaskNotCompleteError,
    UsageError,
)
from luisy.logs import task_logger
from luisy.naming import file_ending_stripped, string_repr
from luisy.parameters import Parameter, from_luigi, is_luigi_parameter
from luisy.services import provided
from luisy.targets.base import Target, is_spark_frame
from luisy.targets.local import LocalTarget, PickleTarget, lies_below, resolved_path

if TYPE_CHECKING:
    import pandas as pd

# like luigi, requires() may also return a set or yield its tasks (a generator): read as a list
_AS_LIST = (set, frozenset, Iterator)


def flatten(struct: Any) -> list:
    """The leaves of a requires()/input() structure: a task, or lists, tuples, sets, generators
    and dicts of them."""
    if struct is None:
        return []
    if isinstance(struct, dict):
        return [leaf for v in struct.values() for leaf in flatten(v)]
    if isinstance(struct, (list, tuple, *_AS_LIST)):
        return [leaf for v in struct for leaf in flatten(v)]
    return [struct]


def map_structure(fn: Any, struct: Any) -> Any:
    if isinstance(struct, dict):
        return {k: map_structure(fn, v) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return type(struct)(map_structure(fn, v) for v in struct)
    if isinstance(struct, _AS_LIST):
        return [map_structure(fn, v) for v in struct]
    return fn(struct)


class TaskMeta(type):
    """Collects parameters at class creation and caches instances by parameter values."""

    def __new__(mcs, name: str, bases: tuple, namespace: dict) -> TaskMeta:
        cls = super().__new__(mcs, name, bases, namespace)
        cls._instance_cache = weakref.WeakValueDictionary()
        cls._cache_lock = threading.Lock()
        return cls

    def __call__(cls, *args: Any, **kwargs: Any) -> Task:
        values = cls._resolve_params(args, kwargs)
        try:
            key: Any = tuple(values.items())
            hash(key)
        except TypeError:
            key = None
        if key is not None:
            with cls._cache_lock:
                inst = cls._instance_cache.get(key)
                if inst is None:
                    inst = cls._create(values)
                    cls._instance_cache[key] = inst
            return inst
        return cls._create(values)

    def clear_instance_cache(cls) -> None:
        """Forget the instances made so far (luigi's, which luisy 1.x tests call between
        runs); later calls make new ones."""
        with cls._cache_lock:
            cls._instance_cache.clear()

    def _create(cls, values: dict[str, Any]) -> Task:
        inst = cls.__new__(cls)
        inst._set_params(values)
        inst.__init__()
        return inst



class _ProjectName:
    """``Task.project_name``: on the class, the name ``@luisy.project_name`` set (None if
    none); on a task, the name its outputs live under, derived when not set (luisy 1.x set it
    on every task)."""

    @staticmethod
    def explicit(cls: type) -> str | None:
        for klass in cls.__mro__:
            value = vars(klass).get("project_name")
            if isinstance(value, str):
                return value
        return None

    def __get__(self, task: Any, cls: type) -> str | None:
        return self.explicit(cls) if task is None else task.get_project_name()

#: the ways to version data from outside by name (a function of the task is the fourth)
DATA_VERSION_MODES = ("content", "mtime", "none")


class Task(metaclass=TaskMeta):
    """A unit of the pipeline: parameters in, one output target, ``run()`` in between."""

    target_cls: ClassVar[type[Target]] = PickleTarget
    target_kwargs: ClassVar[dict[str, Any]] = {}
    layer: ClassVar[str | None] = None
    #: luigi's task namespace (luisy 1.x): part of the task's family name
    task_namespace: ClassVar[str | None] = None
    #: ``@luisy.project_name``'s name on the class; on a task, the project name it uses
    project_name: ClassVar[Any] = _ProjectName()
    # Prefect knobs, per class (see luisy.prefect_options)
    retries: ClassVar[int] = 0
    retry_delay_seconds: ClassVar[float] = 0
    timeout_seconds: ClassVar[float | None] = None
    tags: ClassVar[tuple[str, ...]] = ()
    #: >1: up to this many ready tasks of this class share one Prefect task run
    group_size: ClassVar[int] = 1
    #: the Prefect flow of builds rooted here (None: the task family; see get_flow_name)
    flow_name: ClassVar[str | None] = None
    #: how data this task takes from outside the graph is versioned: an ExternalTask's
    #: output, the tables of ``*_input`` decorators (see ``luisy.data_version``)
    data_version_mode: ClassVar[Any] = "content"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not hasattr(self, "param_kwargs"):  # subclass __init__ called directly
            self._set_params(type(self)._resolve_params(args, kwargs))

    # ----------------------------------------------------------------- parameters
    @classmethod
    def get_params(cls) -> list[tuple[str, Parameter]]:
        """(name, Parameter) in declaration order, inherited ones first."""
        cached = cls.__dict__.get("_params_cache")
        if cached is not None:
            return cached
        found: dict[str, Parameter] = {}
        for klass in reversed(cls.__mro__):
            for name, value in list(vars(klass).items()):
                if is_luigi_parameter(value):  # luisy 1.x code declares luigi's
                    value = from_luigi(value, klass.__name__, name)
                    setattr(klass, name, value)
                if isinstance(value, Parameter):
                    found[name] = value
                elif name in found:
                    del found[name]
        params = sorted(found.items(), key=lambda kv: kv[1]._order)
        cls._params_cache = params
        return params

    @classmethod
    def get_param_names(cls, include_significant: bool = False) -> list[str]:
        """Significant parameter names (all of them with ``include_significant=True``), as luigi."""
        return [n for n, p in cls.get_params() if include_significant or p.significant]

    @classmethod
    def get_task_family(cls) -> str:
        """The class name, after luigi's ``task_namespace`` where a class sets one
        (``ABC.ToyTask``: in task ids, file names and ``as_dict`` keys, as in luisy 1.x)."""
        namespace = cls.task_namespace
        return f"{namespace}.{cls.__name__}" if namespace else cls.__name__

    @classmethod
    def get_flow_name(cls) -> str:
        """The Prefect flow that builds rooted at this class run under, whichever way they
        start (``luisy.build``, the CLI, a deployment of ``luisy.flow``)."""
        return cls.flow_name or cls.get_task_family()

    @classmethod
    def _resolve_params(cls, args: tuple, kwargs: dict) -> dict[str, Any]:
        params = cls.get_params()
        family = cls.get_task_family()
        positional = [n for n, p in params if p.positional]
        if len(args) > len(positional):
            raise ParameterError(family, None, f"takes {len(positional)} positional "
                                 f"parameters, got {len(args)}")
        given = dict(zip(positional, args, strict=False))
        for name in kwargs:
            if name in given:
                raise ParameterError(family, name, "given twice")
        given.update(kwargs)
        names = {n for n, _ in params}
        unknown = sorted(set(given) - names)
        if unknown:
            raise ParameterError(family, unknown[0], f"unknown parameter; known: "
                                 f"{', '.join(sorted(names)) or 'none'}")
        values = {}
        for name, param in params:
            if name in given:
                raw = given[name]
                if raw is None:
                    values[name] = None
                    continue
                try:
                    values[name] = param.normalize(raw)
                except (ValueError, TypeError) as exc:
                    raise ParameterError(family, name, str(exc)) from None
            elif param.has_default:
                try:
                    values[name] = param.default
                except (ValueError, TypeError) as exc:
                    raise ParameterError(family, name, f"bad default: {exc}") from None
            else:
                raise ParameterError(family, name, "missing value (no default)")
        return values

    @classmethod
    def from_str_params(cls, params: dict[str, str]) -> Task:
        """An instance from command-line strings."""
        parsed = {}
        lookup = dict(cls.get_params())
        for name, text in params.items():
            if name not in lookup:
                raise ParameterError(cls.get_task_family(), name, "unknown parameter")
            try:
                parsed[name] = lookup[name].parse(text)
            except ValueError as exc:
                raise ParameterError(cls.get_task_family(), name, str(exc)) from None
        return cls(**parsed)

    def _set_params(self, values: dict[str, Any]) -> None:
        self.param_kwargs = values
        for name, value in values.items():
            object.__setattr__(self, name, value)
        sig = tuple((n, values[n]) for n, p in self.get_params() if p.significant)
        self._identity = (type(self), sig)
        lookup = dict(self.get_params())
        shown = ", ".join(
            f"{n}={'None' if v is None else lookup[n].serialize(v)}" for n, v in sig
        )
        self.task_id = f"{self.get_task_family()}({shown})"

    def to_str_params(self, only_significant: bool = False) -> dict[str, str]:
        return {
            n: p.serialize(self.param_kwargs[n])
            for n, p in self.get_params()
            if (p.significant or not only_significant) and self.param_kwargs[n] is not None
        }

    def clone(self, cls: type[Task] | None = None, **kwargs: Any) -> Task:
        """An instance of ``cls`` (default: own class) sharing the parameters it knows."""
        cls = cls or type(self)
        names = {n for n, _ in cls.get_params()}
        values = {n: v for n, v in self.param_kwargs.items() if n in names}
        values.update(kwargs)
        return cls(**values)

    # ------------------------------------------------------------------ identity
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Task) and self._identity == other._identity

    def __hash__(self) -> int:
        try:
            return hash(self._identity)
        except TypeError:
            return hash(self.task_id)

    def __repr__(self) -> str:
        return self.task_id

    __str__ = __repr__

    # -------------------------------------------------------------------- wiring
    def requires(self) -> Any:
        return []

    def deps(self) -> list[Task]:
        return flatten(self.requires())

    def input(self) -> Any:
        return map_structure(lambda t: t.output(), self.requires())

    def external_inputs(self) -> list[Target]:
        """Data this task reads by name from outside the graph (the table or blob of an
        ``*_input`` decorator): its data version is part of the task's key."""
        return []

    def run(self) -> None:
        raise NotSupportedError(f"{self.task_id}: run() is not implemented")

    # ------------------------------------------------------------------- outputs
    def get_project_name(self) -> str:
        """``@luisy.project_name``'s, else the top-level package of the task's module."""
        explicit = _ProjectName.explicit(type(self))
        if explicit:
            return explicit
        module = type(self).__module__
        if module == "__main__":
            main = getattr(sys.modules["__main__"], "__file__", None) or "main"
            return os.path.splitext(os.path.basename(main))[0]
        top = module.split(".")[0]
        if top == "luisy":
            raise TaskDefinitionError(
                f"{self.get_task_family()}: cannot derive a project name from module "
                f"'{module}'; use @luisy.project_name('...')"
            )
        return top

    def get_sub_dir(self) -> str:
        return ""

    def get_outdir(self) -> str:
        parts = [current().working_dir]
        if self.layer:
            parts += [self.get_project_name(), self.layer]
        return os.path.join(*parts, self.get_sub_dir())

    def get_file_name(self) -> str:
        """The luisy default (``@auto_filename``): ``<Family>_<p1>=<v1>_...`` over all params."""
        return auto_file_name(self, (), False)

    def get_outfile(self) -> str:
        ending = self.target_cls.file_ending
        name = file_ending_stripped(self.get_file_name(), ending)
        return os.path.join(self.get_outdir(), f"{name}.{ending}" if ending else name)

    def output(self) -> Target | None:
        """The target at the path the naming methods give (``get_outdir``, ``get_sub_dir``,
        ``get_file_name``, ``get_folder_name``, ``get_outfile``, and parameters they use).

        A local file must lie below the working dir: luisy writes, overwrites and cleans it
        and keeps its key in the project's hash file there, so a name or a parameter value
        climbing out (``..``, an absolute path) is refused, naming what put it there. A task
        that overrides ``output()`` names its target itself and is taken at its word, as are
        ExternalTasks (their data may live anywhere: luisy only reads them).
        """
        # cached per working dir: tasks are shared by builds that may have other working dirs
        working_dir = current().get_param("working_dir")
        cached = self.__dict__.get("_output")
        if cached is None or cached[0] != working_dir:
            target = self.target_cls.for_paths(self.get_outfile(), self.get_outdir(),
                                               **self.target_kwargs)
            self._check_output_place(target)
            cached = (working_dir, target)
            self._output = cached
        return cached[1]

    def _check_output_place(self, target: Target) -> None:
        """Refuse a local output outside the working dir (tables and blobs have keys there,
        no files)."""
        if not isinstance(target, LocalTarget):
            return
        working_dir = current().working_dir
        if not lies_below(target.path, working_dir):
            raise OutputPathError(
                f"{self}: its output {target.path} would be outside the working dir "
                f"{resolved_path(working_dir)} ({self._escape_cause()}); outputs are "
                "written below the working dir")

    def _escape_cause(self) -> str:
        """What put the output outside the working dir, for the error: a parameter whose
        value is a path leaving its folder, else the naming method that gives one."""
        outfile = self.get_outfile()
        for name, value in self.to_str_params().items():
            if _leaves_folder(value) and value in outfile:
                return f"parameter '{name}' is {value!r}"
        for method in ("get_sub_dir", "get_file_name", "get_folder_name"):
            piece = getattr(self, method)() if hasattr(self, method) else None
            if isinstance(piece, str) and _leaves_folder(piece) and piece in outfile:
                return f"{method}() gives {piece!r}"
        outdir = self.get_outdir()
        if not lies_below(resolved_path(outdir), current().working_dir):
            return f"get_outdir() gives {outdir!r}"
        return f"get_outfile() gives {outfile!r}"

    def output_location(self) -> str:
        out = self.output()
        return out.location if out is not None else "(no output)"

    # ------------------------------------------------------------ user methods
    @property
    def logger(self) -> logging.Logger | logging.LoggerAdapter:
        """Prefect's run logger inside a task run, a plain logger elsewhere."""
        return task_logger(self.get_task_family())

    def describe_engine(self) -> str | None:
        """Which engine runs this task, logged with each of its runs (None: plain Python)."""
        return None

    def complete(self) -> bool:
        """The output exists and holds this task's current key (code, parameters, upstream)."""
        return provided.need("records").is_current(self)

    def read(self) -> Any:
        if not self.complete():
            raise TaskNotCompleteError(
                f"{self.task_id}: output {self.output_location()} is missing or outdated; "
                f"build it first, or use {self.get_task_family()}.get_related_instances() "
                "to find instances already built"
            )
        return self.output().read()

    def write(self, obj: Any) -> None:
        """Store ``obj`` as the output and record the current key with it (in a build: once
        ``run()`` returned)."""
        provided.need("records").written(self, self.output().write(obj))

    def read_input(self) -> Any:
        return map_structure(lambda target: target.read(), self.input())

    # ------------------------------------------------------------------ cloud sync (1.x)
    def download(self) -> None:
        """Fetch this task's output from the remote (see :mod:`luisy.remote`), which must hold
        it with the task's current key; the key is then recorded as if it had run here."""
        provided.need("download")(self)

    def upload(self, overwrite: bool = False) -> None:
        """Send this task's complete output to the remote; one the remote has already is
        replaced only with ``overwrite`` (as in luisy 1.x)."""
        provided.need("upload")(self, overwrite)

    def clean(self) -> None:
        self.logger.info("Cleaning %s", self.task_id)
        out = self.output()
        if out is not None:
            out.remove()

    def visualize(self, ax: Any = None, unique_children: bool = True,
                  parameters_to_exclude: tuple = ()) -> Any:
        return provided.need("visualize")(self, ax=ax, unique_children=unique_children,
                                          parameters_to_exclude=parameters_to_exclude)

    @classmethod
    def get_related_instances(cls, regex_placeholder: str | None = None) -> list[Task]:
        """Instances whose outputs exist on disk, their parameters read from file names
        (``regex_placeholder``: luisy 1.x's regex for one value in a custom file name)."""
        return provided.need("related_instances")(cls, regex_placeholder)


def _leaves_folder(piece: str) -> bool:
    """A path piece that, joined to a folder, can end up outside it: absolute, or going up."""
    return os.path.isabs(piece) or ".." in piece.split(os.sep)


def auto_file_name(task: Task, excl_params: tuple, excl_none: bool) -> str:
    name = task.get_task_family()
    for pname in sorted(task.get_param_names()):
        if pname in excl_params:
            continue
        value = task.param_kwargs[pname]
        if excl_none and value is None:
            continue
        param = dict(task.get_params())[pname]
        if value is None:
            shown = "None"
        elif isinstance(value, (tuple, list, dict)) or hasattr(value, "items"):
            shown = string_repr(value)
        elif isinstance(value, dt.date):
            # luisy 1.x wrote str(value): a MonthParameter shows as YYYY-MM-01, as on disk
            shown = value.isoformat()
        else:
            shown = string_repr(param.serialize(value))
        name += f"_{pname}={shown}"
    return name




class ExternalTask(Task):
    """Data produced outside the pipeline: never run, never cleaned, missing data is reported."""

    def run(self) -> None:
        raise TaskDefinitionError(f"{self.task_id} is external and cannot run")

    def clean(self) -> None:
        raise UsageError(f"{self.task_id}: external tasks cannot be cleaned")

    def _check_output_place(self, target: Target) -> None:
        """External data may live anywhere (a share, another disk): luisy never writes or
        removes it."""


class WrapperTask(Task):
    """Groups tasks; it has no output of its own and reads as its inputs."""

    def output(self) -> None:
        return None

    def run(self) -> None:
        return None

    def clean(self) -> None:
        return None

    def read(self) -> Any:
        return map_structure(lambda t: t.read(), self.requires())

    def download(self) -> None:
        return None

    def upload(self, overwrite: bool = False) -> None:
        return None


class ConcatenationTask(Task):
    """``pandas.concat`` of all inputs, then ``preprocess(df)``, then write."""

    def preprocess(self, df: pd.DataFrame) -> pd.DataFrame:
        return df

    def run(self) -> None:
        import pandas as pd

        frames = []
        for target in flatten(self.input()):
            self.logger.info("Read %s", target.location)
            frames.append(target.read())
        self.write(self.preprocess(pd.concat(frames)))


class SparkTask(Task):
    """A task whose data are Spark frames, processed on :attr:`spark`.

    Inputs stored as local files are read into pandas and uploaded to Spark; inputs stored by
    Spark (tables, blobs) stay Spark frames. A Spark frame is pulled into one pandas frame only
    when the output is a file that pandas writes: the data must then fit into memory.
    """

    @property
    def spark(self) -> Any:
        """The session of the build's settings, an active one, a block's or the embedded
        engine's (:func:`luisy.spark.provider.get_spark`)."""
        return provided.need("spark_session")()

    def describe_engine(self) -> str:
        """Engine and endpoint of the session, token redacted (logged with each run)."""
        return provided.need("describe_session")(self.spark)

    def read_input(self) -> Any:
        """The inputs, each as a Spark frame where it holds a pandas frame."""
        return map_structure(self._read_as_spark, self.input())

    def _read_as_spark(self, target: Target) -> Any:
        data = target.read()
        if type(data).__name__ == "DataFrame" and type(data).__module__.startswith("pandas"):
            return self.spark.createDataFrame(data)
        return data

    def write(self, obj: Any) -> None:
        if is_spark_frame(obj) and not self._engine_writes(self.output()):
            obj = obj.toPandas()  # over Arrow
            # Apache Spark's Connect server puts PlanMetrics objects into attrs: a local file
            # holds plain pandas data, whatever the engine (they break parquet and pickles)
            obj.attrs.clear()
        super().write(obj)

    def _engine_writes(self, output: Target) -> bool:
        """Whether Spark itself writes ``output``: targets it stores, and local folders the
        engine sees as this machine does (a remote engine would write them elsewhere)."""
        if not output.accepts_spark_frames:
            return False
        if not isinstance(output, LocalTarget):
            return True
        folder = os.path.dirname(os.path.abspath(output.path))
        if provided.need("shares_files")(self.spark, folder):
            return True
        self.logger.info("The Spark engine does not see %s: its data come over Arrow into "
                         "this process (they must fit into memory)", output.path)
        return False


__all__ = ["ConcatenationTask", "ExternalTask", "SparkTask", "Task", "WrapperTask", "flatten"]
