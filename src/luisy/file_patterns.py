"""Reading parameter values back from output paths: which instances of a task class are built.

:class:`RegexTaskPattern` (luisy 1.x's name, re-exported by :mod:`luisy.helpers`) finds the
instances of a task class already built from the files on disk when the class names its files
itself (``get_file_name()``, ``get_sub_dir()``). ``Task.get_related_instances()`` uses it for
such classes (see :mod:`luisy.discovery`).

How it works, as in 1.x: the file-name methods are run once on a *probe*, an instance whose
parameter values are placeholders, which gives the output path with a hole per parameter.
Files whose paths fit the holes are candidates; unlike 1.x, the text in each hole is parsed
with the parameter's type and every candidate is checked by building the instance and comparing
its output path with the file found, so only instances whose output *is* that file come back.
Where the path cannot spell the parameters (a parameter left out, formatted with a spec such as
``{self.day:%Y%m%d}``, or used as something other than text) one
:class:`~luisy.errors.TaskDefinitionError` says which parameter and why, where 1.x raised
whatever its string splitting hit.
"""
from __future__ import annotations

import ast
import itertools
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from luisy.config import current
from luisy.decorators import auto_filename
from luisy.errors import LuisyError, TaskDefinitionError
from luisy.parameters import DictParameter, ListParameter, Parameter, TupleParameter
from luisy.tasks.base import Task

__all__ = ["DEFAULT_PLACEHOLDER", "RegexParam", "RegexTaskPattern", "get_related_instances",
           "parse_value", "uses_auto_filename", "wrap_in_brackets"]

logger = logging.getLogger(__name__)

#: luisy 1.x's default: the text standing for one parameter value in a path
DEFAULT_PLACEHOLDER = "[\\S]*"


def wrap_in_brackets(string: str) -> str:
    """``(string)``: a regex group (luisy 1.x)."""
    return "(" + string + ")"


# ----------------------------------------------------------------- auto_filename detection
class _Probe:
    pass


#: code objects of the file-name methods that spell parameters: Task's default and every
#: ``@auto_filename(...)`` (closures of one function share its code object)
_AUTO_CODES = frozenset({Task.get_file_name.__code__,
                         auto_filename(_Probe).get_file_name.__code__})


def uses_auto_filename(cls: type[Task]) -> bool:
    """True when file names of ``cls`` are the parameter-spelling ``auto_filename`` ones."""
    method = getattr(cls.get_file_name, "__func__", cls.get_file_name)
    code = getattr(method, "__code__", None)
    return code in _AUTO_CODES and cls.get_outfile is Task.get_outfile


# --------------------------------------------------------------------- reading values back
def _guess_scalar(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_value(param: Parameter, text: str) -> Any:
    """The value a file-name fragment most likely spelled (``None`` for ``"None"``).

    Lists were joined by ``_`` and dicts written ``k-v`` (``auto_filename``): items are read
    back as numbers where they look like numbers, else as strings.
    """
    if text == "None":
        return None
    if isinstance(param, (ListParameter, TupleParameter)):
        return [_guess_scalar(item) for item in text.split("_") if item]
    if isinstance(param, DictParameter):
        pairs = [item.split("-", 1) for item in text.split("_") if "-" in item]
        return {k: _guess_scalar(v) for k, v in pairs}
    return param.parse(text)


def _readings(param: Parameter, text: str) -> list[Any]:
    """Every value ``text`` may spell, most likely first: the ``auto_filename`` reading, the
    command-line one (JSON for lists) and, for lists and dicts, a Python literal
    (``f"{self.items}"`` writes ``('a', 'b')``). Which one is right is decided by the path the
    instance writes."""
    attempts: list[Callable[[], Any]] = [lambda: parse_value(param, text),
                                         lambda: param.parse(text)]
    if isinstance(param, (ListParameter, TupleParameter, DictParameter)):
        attempts.append(lambda: param.normalize(ast.literal_eval(text)))
    found: list[Any] = []
    for attempt in attempts:
        try:
            value = attempt()
        except Exception:  # not this reading (a parse error of any kind): try the next
            continue
        if value not in found:
            found.append(value)
    return found


# --------------------------------------------------------------------------------- probe
class _Unreadable(LuisyError, AttributeError):
    """A file-name method used a placeholder in a way that hides its text.

    An ``AttributeError`` so that ``hasattr(value, ...)`` checks on a placeholder just say no.
    """


class _Slot(str):
    """Stands for a parameter's value while the file-name methods run on a probe.

    Plain text uses (``f"{self.a}"``, ``str()``, ``os.path.join``, ``.replace``) keep the
    slot's text, so it marks where the value is. Uses that would turn a real value into other
    text (a format spec, a date's ``.year``, a condition) cannot be reversed from a file name:
    they raise :class:`_Unreadable` naming the parameter.
    """

    def __new__(cls, text: str, name: str) -> _Slot:
        slot = super().__new__(cls, text)
        slot.__dict__["param_name"] = name
        return slot

    def _name(self) -> str:
        return self.__dict__.get("param_name", "?")

    def __format__(self, spec: str) -> str:
        if spec:
            raise _Unreadable(f"it formats parameter '{self._name()}' as {{:{spec}}}, which a "
                              "file name cannot be read back through")
        return str(self)

    def __bool__(self) -> bool:
        raise _Unreadable(f"it decides on parameter '{self._name()}' (if/and/or): the path "
                          "of one value does not show where the others go")

    def __mul__(self, other: Any) -> str:
        raise _Unreadable(f"it computes with parameter '{self._name()}'")

    __rmul__ = __mod__ = __mul__

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):  # protocol probes (copy, pickle, numpy): not a use
            raise AttributeError(attr)
        raise _Unreadable(f"it uses parameter '{self._name()}' as something other than text "
                          f"(.{attr})")


_TOKEN = "\x1fluisy{}\x1f"
_TOKEN_RE = re.compile("\x1fluisy(\\d+)\x1f")


def _probe(cls: type[Task], texts: dict[str, str]) -> Task:
    """An instance of ``cls`` that was never constructed: its parameters are :class:`_Slot`
    placeholders (constructing would parse them as values, and caching would keep it)."""
    probe = cls.__new__(cls)
    slots = {name: _Slot(texts[name], name) for name, _ in cls.get_params()}
    probe.param_kwargs = slots
    for name, slot in slots.items():
        object.__setattr__(probe, name, slot)
    probe.task_id = f"{cls.get_task_family()}(<file-name pattern>)"
    probe._identity = (cls, ("<file-name pattern>",))
    return probe


# ------------------------------------------------------------------------ the 1.x classes
class RegexParam:
    """A parameter of a :class:`RegexTaskPattern` (luisy 1.x).

    Args:
        name: parameter name in the task class
        default: the parameter's default (``None`` without one)
        regex_placeholder: regex matching the parameter's values in a path
    """

    def __init__(self, name: str, default: Any,
                 regex_placeholder: str | None = DEFAULT_PLACEHOLDER):
        self.name = name
        self.default = default
        self.regex_placeholder = regex_placeholder

    @property
    def placeholder(self) -> str:
        """``*name*``: where the parameter stands in :attr:`RegexTaskPattern.filename_pattern`."""
        return f"*{self.name}*"


class RegexTaskPattern:
    """Finds the instances of a task class whose outputs are on disk (luisy 1.x's interface).

    Args:
        task_cls: the task class; it may name its files itself with ``get_file_name()`` and
            ``get_sub_dir()``, as long as they write each significant parameter as text.
        regex_placeholder: what a parameter's value may look like in the path (1.x's
            ``[\\S]*``: no whitespace); ``None`` takes any text. A value never spans a ``/``.

    Attributes, as in 1.x: ``params`` (a :class:`RegexParam` per parameter),
    ``filename_pattern`` (the output path with ``*name*`` holes), ``regex_pattern`` (the
    regular expression paths are matched with) and ``root_dir`` (the folder searched).

    Raises:
        TaskDefinitionError: when the output paths of ``task_cls`` do not spell every
            significant parameter, with the parameter and the reason.
    """

    #: at most this many ways to cut one path into parameter values are tried
    max_splits = 256

    def __init__(self, task_cls: type[Task], regex_placeholder: str | None = DEFAULT_PLACEHOLDER):
        self.task_cls = task_cls
        self.regex_placeholder = regex_placeholder
        self._all_params = dict(task_cls.get_params())
        self.params = [
            RegexParam(name, param._default if param.has_default else None, regex_placeholder)
            for name, param in self._all_params.items()
        ]
        self._names = [p.name for p in self.params]
        self.set_filename_pattern()
        self.regex_pattern = self.build_regex()
        self.root_dir = self.build_root_directory()

    # ------------------------------------------------------------------ the pattern
    def _refuse(self, why: str) -> TaskDefinitionError:
        """The one error for a class whose paths cannot spell its parameters: the class,
        the reason and what to change."""
        family = self.task_cls.get_task_family()
        if uses_auto_filename(self.task_cls):
            return TaskDefinitionError(
                f"{family}'s file names (@auto_filename) cannot be matched by a pattern: "
                f"{why}. {family}.get_related_instances() reads them without one")
        return TaskDefinitionError(
            f"{family} defines its own get_file_name(): {why}. Instances cannot be recovered "
            "from its file names; write every significant parameter as plain text in "
            "get_file_name() or get_sub_dir() (e.g. f'data_{self.a}_{self.b}'), or remove "
            "get_file_name() to get @luisy.auto_filename names")

    def _tokens(self) -> dict[str, str]:
        return {name: _TOKEN.format(i) for i, name in enumerate(self._names)}

    @contextmanager
    def _overwrite_defaults(self) -> Iterator[Callable[[], Task]]:
        """luisy 1.x: yields something that, called, gives an instance whose parameters are
        the ``*name*`` placeholders. luisy 2 changes no class: it yields a probe factory."""
        texts = {p.name: p.placeholder for p in self.params}
        yield lambda: _probe(self.task_cls, texts)

    def set_filename_pattern(self) -> None:
        """Run the file-name methods on a probe: ``self.filename_pattern`` is the output path
        with a ``*name*`` hole per parameter."""
        # no working dir: the config's own error (set it), not a refusal of the class
        _ = current().working_dir
        try:
            path = os.path.normpath(_probe(self.task_cls, self._tokens()).get_outfile())
        except _Unreadable as exc:
            raise self._refuse(str(exc)) from None
        except Exception as exc:  # the user's methods failed on placeholders: say so
            raise self._refuse(
                f"computing the output path with placeholder parameter values failed "
                f"({type(exc).__name__}: {exc}); file names must write parameters as text"
            ) from None
        self._pattern = path
        present = {self._names[int(i)] for i in _TOKEN_RE.findall(path)}
        needed = [n for n, p in self._all_params.items() if p.significant or not p.has_default]
        missing = [n for n in needed if n not in present]
        if missing:
            listed = ", ".join(f"'{n}'" for n in missing)
            raise self._refuse(
                f"its output path {self.filename_pattern_of(path)} does not contain "
                f"parameter{'s' if len(missing) > 1 else ''} {listed} as text "
                f"(f'{{self.{missing[0]}}}'): instances that differ only in "
                f"{'them' if len(missing) > 1 else 'it'} write the same file")
        self.filename_pattern = self.filename_pattern_of(path)

    def filename_pattern_of(self, path: str) -> str:
        """``path`` with the probe's internal tokens written as 1.x's ``*name*``."""
        return _TOKEN_RE.sub(lambda m: f"*{self._names[int(m.group(1))]}*", path)

    def _parts(self, text: str) -> list[str | int]:
        """Literal strings and parameter indices, alternating as in ``text``."""
        pieces = _TOKEN_RE.split(text)
        return [p if i % 2 == 0 else int(p) for i, p in enumerate(pieces) if i % 2 or p]

    def _root_index(self) -> int:
        components = self._pattern.split(os.sep)
        for i, component in enumerate(components):
            if _TOKEN_RE.search(component):
                return i
        return len(components) - 1

    def build_root_directory(self) -> str:
        """The deepest folder of the pattern above every parameter: the folder searched."""
        components = self._pattern.split(os.sep)
        return os.sep.join(components[: self._root_index()]) or os.sep

    def build_regex(self) -> str:
        """The regex of output paths: literal parts (escaped, unlike 1.x) and a
        ``(placeholder)`` group per parameter, in 1.x's ``(literal)(placeholder)...`` form."""
        hole = wrap_in_brackets(self.regex_placeholder or f"[^{re.escape(os.sep)}]*")
        groups = [wrap_in_brackets(re.escape(p)) for p in _TOKEN_RE.split(self._pattern)[::2]]
        return hole.join(groups)

    def build_re_splitters(self) -> dict[str, list[str]]:
        """luisy 1.x: per parameter, ``filename_pattern`` split at its hole, the other holes
        written as the placeholder."""
        splits = {}
        for param in self.params:
            text = self.filename_pattern
            for other in self.params:
                if other.name != param.name:
                    text = text.replace(other.placeholder, other.regex_placeholder or ".*")
            splits[param.name] = text.split(param.placeholder)
        return splits

    # ---------------------------------------------------------------------- search
    def _candidate_paths(self) -> list[str]:
        """Paths under :attr:`root_dir` as deep as the pattern (folders too for outputs
        without a file ending, which are folders)."""
        depth = len(self._pattern.split(os.sep)) - self._root_index()
        with_dirs = not self.task_cls.target_cls.file_ending
        found = []
        for folder, dirs, files in os.walk(self.root_dir):
            rel = os.path.relpath(folder, self.root_dir)
            level = 0 if rel == os.curdir else rel.count(os.sep) + 1
            if level == depth - 1:
                found += [os.path.join(folder, n) for n in files + (dirs if with_dirs else [])]
                dirs[:] = []
        return sorted(found)

    def _splits(self, text: str, parts: list[str | int]) -> Iterator[dict[int, str]]:
        """Every way to read ``text`` as ``parts``: the text of each parameter index. A value
        stays within one path component, fits the placeholder and is the same wherever its
        parameter repeats."""
        fits = re.compile(self.regex_placeholder) if self.regex_placeholder else None
        bound: dict[int, str] = {}

        def walk(i: int, pos: int) -> Iterator[dict[int, str]]:
            if i == len(parts):
                if pos == len(text):
                    yield dict(bound)
                return
            part = parts[i]
            if isinstance(part, str):
                if text.startswith(part, pos):
                    yield from walk(i + 1, pos + len(part))
                return
            if part in bound:
                if text.startswith(bound[part], pos):
                    yield from walk(i + 1, pos + len(bound[part]))
                return
            stop = text.find(os.sep, pos)
            for end in range(pos, len(text) + 1 if stop < 0 else stop + 1):
                value = text[pos:end]
                if fits is not None and not fits.fullmatch(value):
                    continue
                bound[part] = value
                yield from walk(i + 1, end)
                del bound[part]

        yield from itertools.islice(walk(0, 0), self.max_splits)

    def _instance(self, values: dict[str, list[Any]], path: str) -> Task | None:
        """The first combination of readings whose instance writes ``path``."""
        names = list(values)
        target = os.path.normpath(path)
        for combo in itertools.islice(itertools.product(*values.values()), 64):
            try:
                task = self.task_cls(**dict(zip(names, combo, strict=True)))
                if os.path.normpath(task.get_outfile()) == target:
                    return task
            except Exception:  # a wrong guess (a value the class rejects): try the next
                continue
        return None

    def _instances_of(self, path: str) -> list[Task]:
        """Instances whose output is ``path`` (more than one: their file names collide)."""
        rel = os.path.relpath(path, self.root_dir)
        rel_pattern = os.path.relpath(self._pattern, self.root_dir)
        found: list[Task] = []
        for split in self._splits(rel, self._parts(rel_pattern)):
            readings = {self._names[i]: _readings(self._all_params[self._names[i]], text)
                        for i, text in split.items()}
            task = self._instance(readings, path)
            if task is not None and task not in found:
                found.append(task)
        return found

    def _found(self) -> dict[str, Task]:
        found: dict[str, Task] = {}
        for path in self._candidate_paths():
            tasks = self._instances_of(path)
            if not tasks:
                continue
            if len(tasks) > 1:
                logger.warning("%s is the output of %s; taking the first (their file names "
                               "collide)", path, " and ".join(map(str, tasks)))
            found[path] = tasks[0]
        return found

    def get_available_files(self) -> list[str]:
        """Paths under :attr:`root_dir` that are outputs of an instance of the class."""
        return list(self._found())

    def get_available_params(self) -> dict[str, dict[str, Any]]:
        """Per output path found, the parameter values its path spells (typed: ``2``, not
        1.x's ``'2'``); ``task_cls(**values)`` is the instance."""
        present = {self._names[int(i)] for i in _TOKEN_RE.findall(self._pattern)}
        return {path: {n: task.param_kwargs[n] for n in self._names if n in present}
                for path, task in self._found().items()}

    def get_available_instances(self) -> list[Task]:
        """The instances whose outputs are on disk, in path order."""
        return list(dict.fromkeys(self._found().values()))


def get_related_instances(task_cls: type[Task],
                          regex_placeholder: str | None = DEFAULT_PLACEHOLDER) -> list[Task]:
    """luisy 1.x's function (its ``read()`` hint named it): instances of ``task_cls`` whose
    outputs are on disk. With 1.x's default placeholder this is
    ``task_cls.get_related_instances()``, which also reads ``auto_filename`` names; another
    placeholder matches paths with :class:`RegexTaskPattern`."""
    if regex_placeholder == DEFAULT_PLACEHOLDER:
        return task_cls.get_related_instances()
    return RegexTaskPattern(task_cls, regex_placeholder).get_available_instances()
