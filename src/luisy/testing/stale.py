"""``stale_after``: which tasks would rerun if this code changed? Answered without editing files.

Teams pin their rerun expectations in tests ("editing ``summarise`` must not rerun the cleaning
step, it takes an hour"), so a refactoring that silently widens a task's fingerprint shows up
as a failing test instead of a surprise rebuild. The answer is computed exactly as a build
would: the graph's fingerprints are taken, the named units' digests replaced by those of the
edited code, and the chained keys recomputed; a task is stale when its key changes. The
baseline is "every output exists and is up to date", so the answer is about code only, not
about what happens to be on disk.

Unit names are those of :class:`luisy.cache.Fingerprint.code`: ``pkg.mod.func``,
``pkg.mod.Class`` (a method edit changes its class), ``const:pkg.mod.NAME``, and
``module:pkg.mod`` where code could not be followed and the whole module counts.
"""
from __future__ import annotations

import ast
import copy
import importlib
import inspect
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import FunctionType, ModuleType
from typing import Any

from luisy.cache import (
    Fingerprint,
    Reason,
    TaskKey,
    compute_key,
    describe,
    explain,
    fingerprint,
    is_project_module,
    module_source,
    node_digest,
    strip_docstrings,
    text_digest,
    value_digest,
)
from luisy.errors import UsageError
from luisy.graph import build_graph
from luisy.tasks.base import ExternalTask, Task


class _AnyChange:
    def __repr__(self) -> str:
        return "ANY_CHANGE"


#: "some real change, whatever it is": the value of an edit given only by name
ANY_CHANGE: Any = _AnyChange()

Edits = str | Iterable[str] | Mapping[str, Any]


class StaleTasks(frozenset):
    """The tasks that would rerun (a frozenset of tasks) with the plan's reasons for each:
    ``causes`` as data (:class:`luisy.cache.Reason`), ``reasons`` in the plan's words."""

    causes: dict[Task, tuple[Reason, ...]]
    reasons: dict[Task, str]

    def __new__(cls, causes: Mapping[Task, tuple[Reason, ...]]) -> StaleTasks:
        obj = super().__new__(cls, causes)
        obj.causes = dict(causes)
        obj.reasons = {task: describe(found) for task, found in causes.items()}
        return obj

    @property
    def families(self) -> set[str]:
        """Task class names: ``{"CleanSales", "MonthlySummary"}``, handy in assertions."""
        return {t.get_task_family() for t in self}

    def format(self) -> str:
        if not self:
            return "nothing reruns"
        return "\n".join(f"{t}: {r}" for t, r in self.reasons.items())

    def __repr__(self) -> str:
        return f"StaleTasks({sorted(map(str, self))})"


@dataclass
class _Edit:
    """One edited unit: what it is, where it lives, and its new code or value."""

    name: str
    kind: str  # "def", "const" or "module"
    module: str
    qualname: str  # def: its __qualname__; const: its attribute name; module: ""
    obj: Any
    new: Any

    # ------------------------------------------------------------------ resolution
    @classmethod
    def resolve(cls, name: str, new: Any) -> _Edit:
        module, rest = _import_longest(name)
        obj: Any = module
        owner: Any = module
        for attr in rest:
            if not hasattr(obj, attr):
                raise UsageError(f"stale_after: cannot resolve {name!r}: no attribute {attr!r}")
            owner, obj = obj, getattr(obj, attr)
        if isinstance(obj, ModuleType):
            if new is not ANY_CHANGE:
                raise UsageError(f"stale_after: {name!r} is a module; name the function, class "
                                 "or constant you edit (or give ANY_CHANGE)")
            return cls(name, "module", obj.__name__, "", obj, new)
        if isinstance(obj, (type, FunctionType)):
            home = obj.__module__
            if not is_project_module(home):
                raise UsageError(f"stale_after: {name!r} is library code ({home}): its version "
                                 "counts, not its code; use libraries={...} instead")
            return cls(name, "def", home, obj.__qualname__, obj, new)
        if isinstance(owner, type):  # a class attribute is part of its class's code
            return cls.resolve(name.rsplit(".", 1)[0], ANY_CHANGE)
        return cls(name, "const", module.__name__, ".".join(rest), obj, new)

    # ---------------------------------------------------------------- new digests
    def new_digest(self, unit: str, old: str) -> str | None:
        """The digest ``unit`` has after this edit, or None when the edit does not touch it."""
        if self.kind == "def":
            return self._def_digest(unit, old)
        if self.kind == "const":
            return self._const_digest(unit)
        return self._module_digest(unit, old)

    def _def_digest(self, unit: str, old: str) -> str | None:
        if unit == f"module:{self.module}":
            return old if self._unchanged() else _changed(old)
        prefix = f"{self.module}."
        if not unit.startswith(prefix):
            return None
        outer = unit[len(prefix):]
        if outer != self.qualname and not self.qualname.startswith(outer + "."):
            return None
        if self.new is ANY_CHANGE:
            return _changed(old)
        info = module_source(self.module)
        node = info.defs.get(outer) if info else None
        if node is None:  # compiled without source: any edit is a change
            return _changed(old)
        return node_digest(_replaced(node, outer, self.qualname, self._new_node()))

    def _unchanged(self) -> bool:
        if self.new is ANY_CHANGE:
            return False
        info = module_source(self.module)
        node = info.defs.get(self.qualname) if info else None
        return node is not None and node_digest(node) == node_digest(self._new_node())

    def _new_node(self) -> ast.AST:
        source = self.new
        if not isinstance(source, str):
            try:
                source = inspect.getsource(source)
            except (OSError, TypeError):
                raise UsageError(f"stale_after: the new code of {self.name!r} must be source "
                                 "text or a function or class defined in a file") from None
        tree = ast.parse(textwrap.dedent(source))
        defs = [n for n in tree.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        if len(defs) != 1:
            raise UsageError(f"stale_after: the new code of {self.name!r} must hold exactly one "
                             f"def or class, found {len(defs)}")
        node = defs[0]
        node.name = self.qualname.rsplit(".", 1)[-1]  # a replacement may be named otherwise
        strip_docstrings(node)
        return node

    def _const_digest(self, unit: str) -> str | None:
        if not unit.startswith("const:") or not self._is_this_constant(unit[len("const:"):]):
            return None
        if self.new is ANY_CHANGE:
            return _changed(unit)
        return value_digest(self.new)

    def _is_this_constant(self, label: str) -> bool:
        """``label`` (where the constant is used) names this constant: the same name, or the
        same object imported under the same or another name."""
        if label == f"{self.module}.{self.qualname}":
            return True
        try:
            module, rest = _import_longest(label)
            used = getattr(module, rest[0]) if len(rest) == 1 else None
        except (ValueError, AttributeError):
            return False
        if used is not self.obj:
            return False
        return rest[0] == self.qualname or _imported_as(module.__name__, self.qualname, rest[0])

    def _module_digest(self, unit: str, old: str) -> str | None:
        touched = (
            unit == f"module:{self.module}"
            or (unit.startswith(f"{self.module}.") and _defined_in(self.module, unit))
            or (unit.startswith("const:") and _const_from(self.obj, unit[len("const:"):]))
        )
        return _changed(old) if touched else None


def _changed(old: str) -> str:
    return text_digest(f"edited:{old}")


def _import_longest(name: str) -> tuple[ModuleType, list[str]]:
    """The longest importable module prefix of a dotted name, and the attribute path after it."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            return importlib.import_module(".".join(parts[:cut])), parts[cut:]
        except ImportError:
            continue
    raise UsageError(f"stale_after: cannot import any module of {name!r}")


def _imported_as(module: str, name: str, alias: str) -> bool:
    info = module_source(module)
    if info is None:
        return False
    with open(info.path, "rb") as fh:
        tree = ast.parse(fh.read())
    return any(isinstance(n, ast.ImportFrom) and any(a.name == name and a.asname == alias
                                                     for a in n.names) for n in ast.walk(tree))


def _defined_in(module: str, unit: str) -> bool:
    info = module_source(module)
    return info is not None and unit[len(module) + 1:] in info.defs


def _const_from(module: ModuleType, label: str) -> bool:
    if label.startswith(f"{module.__name__}."):
        return True
    try:
        owner, rest = _import_longest(label)
        return len(rest) == 1 and getattr(owner, rest[0]) is getattr(module, rest[0], object())
    except (ValueError, AttributeError):
        return False


def _replaced(node: ast.AST, outer: str, qualname: str, new: ast.AST) -> ast.AST:
    """A copy of the definition ``outer`` with its nested definition ``qualname`` replaced."""
    if outer == qualname:
        return new
    root = copy.deepcopy(node)
    parent = root
    path = [p for p in qualname[len(outer) + 1:].split(".") if p != "<locals>"]
    for depth, name in enumerate(path):
        body = parent.body
        for i, child in enumerate(body):
            if getattr(child, "name", None) == name:
                if depth == len(path) - 1:
                    body[i] = new
                else:
                    parent = child
                break
        else:
            raise UsageError(f"stale_after: {qualname} not found in the source of {outer}")
    return root


def _normalise(edit: Edits) -> dict[str, Any]:
    if isinstance(edit, str):
        return {edit: ANY_CHANGE}
    if isinstance(edit, Mapping):
        return dict(edit)
    return dict.fromkeys(edit, ANY_CHANGE)


def _edited(fp: Fingerprint, edits: list[_Edit], libraries: Mapping[str, str]) -> Fingerprint:
    code = dict(fp.code)
    for unit in fp.code:
        for e in edits:
            new = e.new_digest(unit, code[unit])
            if new is not None:
                code[unit] = new
    libs = dict(fp.libraries)
    for dist, version in libraries.items():
        key = dist.strip().lower().replace("_", "-")
        if key in libs:
            libs[key] = version
    return Fingerprint.of(code, libs, fp.files)


def stale_after(task: Task, edit: Edits = (), *,
                libraries: Mapping[str, str] | None = None) -> StaleTasks:
    """The tasks below (and including) ``task`` that would rerun after an edit, with reasons.

    ``edit`` names what changes: a dotted name (``"pkg.utils.clean"``: some real change), a
    list of names, or a mapping from name to the new code (source text, or a function or
    class whose source is taken; its name does not matter) or, for a constant, its new value.
    An edit that only touches comments, docstrings or formatting reruns nothing, as in a
    build. ``libraries={"pandas": "3.0.0"}`` asks the same about a library upgrade.

    ExternalTasks never rerun and are never in the answer; WrapperTasks are when something
    they wrap reruns.
    """
    edits = [_Edit.resolve(name, new) for name, new in _normalise(edit).items()]
    graph = build_graph(task)
    base_fps: dict[type, Fingerprint] = {}
    new_fps: dict[type, Fingerprint] = {}
    for cls in dict.fromkeys(type(t) for t in graph):
        fp = fingerprint(cls)
        base_fps[cls] = fp
        new_fps[cls] = _edited(fp, edits, libraries or {})
    before: dict[Task, TaskKey] = {}
    after: dict[Task, TaskKey] = {}
    causes: dict[Task, tuple[Reason, ...]] = {}
    for t in graph:
        deps = graph.deps[t]
        before[t] = compute_key(t, base_fps[type(t)], {str(d): before[d].key for d in deps})
        after[t] = compute_key(t, new_fps[type(t)], {str(d): after[d].key for d in deps})
        if after[t].key != before[t].key and not isinstance(t, ExternalTask):
            old, new = before[t], after[t]
            previous = {"code": old.fingerprint.code, "libraries": old.fingerprint.libraries,
                        "params": old.params, "upstream": old.upstream}
            causes[t] = explain(previous, new)
    return StaleTasks(causes)
