"""Code fingerprints: what a task class's output depends on in code.

A fingerprint covers
- the normalised AST of the class (comments, docstrings and formatting do not count),
- recursively, the functions, classes and constants it uses from the user's project (the same
  module, sibling modules, imported names; anything outside site-packages, the standard library
  and luisy itself),
- project base classes in its MRO,
- the versions of the third-party distributions whose names it uses (installed metadata, or
  ``requirements_path`` pinned versions as in luisy 1.x).

Other task classes it names (``@requires(Other)``) are not part of it: they are upstream, and
their keys enter through the task key (see :mod:`luisy.keys`).

Where code cannot be followed (``eval``/``exec``, ``getattr`` with a computed name,
``globals()``, a star import) the fingerprint takes the whole module, so it errs towards
rerunning. Classes without source (notebooks) fall back to their bytecode.

Parsed modules are cached by (path, mtime, size): an unchanged project is parsed once per
process, and :func:`fingerprint` is cached per class.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.metadata as metadata
import inspect
import os
import site
import sys
import sysconfig
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import FunctionType
from typing import Any

from luisy.config import current
from luisy.tasks.base import Task

_DYNAMIC_CALLS = {"eval", "exec", "globals", "__import__", "vars", "locals"}
_SIMPLE = (int, float, complex, str, bytes, bool, type(None), tuple, frozenset, list, dict, set)


def text_digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    """Digest of a task class's code closure, with its parts kept for explaining changes."""

    digest: str
    #: unit name ("pkg.mod.func", "module:pkg.mod", "const:pkg.mod.NAME") -> digest
    code: dict[str, str] = field(hash=False)
    #: distribution -> version
    libraries: dict[str, str] = field(hash=False)
    #: files read, with their (mtime_ns, size) when read
    files: dict[str, tuple[int, int]] = field(hash=False, repr=False, compare=False)

    @classmethod
    def of(cls, code: dict[str, str], libraries: dict[str, str],
           files: dict[str, tuple[int, int]]) -> Fingerprint:
        """The fingerprint of these parts: its digest covers exactly ``code`` and
        ``libraries``, so equal parts give equal digests, however they were found."""
        body = "\n".join(f"{k}={v}" for k, v in sorted(code.items()))
        libs = "\n".join(f"{k}=={v}" for k, v in sorted(libraries.items()))
        return cls(text_digest(f"{body}\n--\n{libs}"), code, libraries, files)


def value_digest(value: Any) -> str:
    """A constant counts by its value (its repr); an object whose repr is only its address
    counts by its type, or every process would see another value."""
    text = repr(value)
    if not isinstance(value, _SIMPLE) and " at 0x" in text:
        kind = type(value)
        text = f"{kind.__module__}.{kind.__qualname__}"
    return text_digest(text)


def node_digest(node: ast.AST) -> str:
    """The digest of a definition's normalised AST."""
    return text_digest(_dump(node))


# --------------------------------------------------------------------------- modules
@dataclass
class ModuleSource:
    name: str
    path: str
    stat: tuple[int, int]
    defs: dict[str, ast.AST]
    digest: str
    star_imports: list[str]
    #: names bound by ``from x import y [as z]`` at module level -> "x.y" (where y is defined)
    imported: dict[str, str]


def strip_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(
                    getattr(body[0], "value", None), ast.Constant) and isinstance(
                    body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]


def _dump(node: ast.AST) -> str:
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def _collect_defs(tree: ast.Module) -> dict[str, ast.AST]:
    defs: dict[str, ast.AST] = {}
    stack: list[tuple[str, ast.AST]] = [("", tree)]
    while stack:
        prefix, node = stack.pop()
        for child in getattr(node, "body", []):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                qual = f"{prefix}{child.name}"
                defs[qual] = child
                inner = f"{qual}.<locals>." if not isinstance(child, ast.ClassDef) else \
                    f"{qual}."
                stack.append((inner, child))
    return defs


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.modules: dict[str, ModuleSource] = {}
        self.fingerprints: dict[tuple[type, Any], Fingerprint] = {}
        self.project: dict[str, bool] = {}
        self.dists: dict[str, list[str]] | None = None
        self.versions: dict[str, str] = {}
        self.pins: tuple[str | None, dict[str, str]] = (None, {})


_cache = _Cache()


def clear_cache() -> None:
    """Forget parsed modules and fingerprints (tests that edit code in one process)."""
    global _cache
    _cache = _Cache()


def _stat(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_mtime_ns, st.st_size


def module_source(name: str) -> ModuleSource | None:
    mod = sys.modules.get(name)
    path = getattr(mod, "__file__", None)
    if not path or not path.endswith(".py") or not os.path.exists(path):
        return None
    stat = _stat(path)
    cached = _cache.modules.get(name)
    if cached is not None and cached.path == path and cached.stat == stat:
        return cached
    with open(path, "rb") as fh:
        tree = ast.parse(fh.read(), filename=path)
    strip_docstrings(tree)
    stars = [
        _resolve_relative(name, n.module, n.level, path)
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
    ]
    imported = {
        alias.asname or alias.name: f"{_resolve_relative(name, n.module, n.level, path)}."
                                    f"{alias.name}"
        for n in tree.body if isinstance(n, ast.ImportFrom)
        for alias in n.names if alias.name != "*"
    }
    info = ModuleSource(name, path, stat, _collect_defs(tree), node_digest(tree), stars,
                        imported)
    _cache.modules[name] = info
    return info


def _resolve_relative(module: str, target: str | None, level: int, path: str) -> str:
    if not level:
        return target or ""
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{target}" if target else package


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    roots.add(os.path.join(sys.base_prefix, "lib"))
    return tuple(os.path.realpath(r) + os.sep for r in roots)


_LIB_ROOTS = _library_roots()


def is_project_module(name: str) -> bool:
    """User code: a module with a source file outside the stdlib, site-packages and luisy."""
    known = _cache.project.get(name)
    if known is not None:
        return known
    mod = sys.modules.get(name)
    path = getattr(mod, "__file__", None)
    result = bool(
        path
        and name.split(".")[0] != "luisy"
        and not os.path.realpath(path).startswith(_LIB_ROOTS)
    )
    _cache.project[name] = result
    return result


# ------------------------------------------------------------------------ libraries
def _pinned_versions() -> dict[str, str]:
    path = current().get_param("requirements_path")
    if _cache.pins[0] == path:
        return _cache.pins[1]
    pins: dict[str, str] = {}
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.split("#")[0].strip()
                if "==" in line:
                    dist, version = line.split("==", 1)
                    pins[_norm_dist(dist.split("[")[0])] = version.strip()
    _cache.pins = (path, pins)
    return pins


def _norm_dist(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def library_versions(top_module: str) -> dict[str, str]:
    """Distribution -> version for an importable top-level module name."""
    if _cache.dists is None:
        _cache.dists = metadata.packages_distributions()
    result = {}
    pins = _pinned_versions()
    for dist in _cache.dists.get(top_module, []):
        key = _norm_dist(dist)
        if key in pins:
            result[key] = pins[key]
            continue
        if key not in _cache.versions:
            try:
                _cache.versions[key] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
        result[key] = _cache.versions[key]
    return result


# --------------------------------------------------------------------------- closure
def _dotted_names(node: ast.AST) -> Iterable[tuple[list[str], bool]]:
    """Name chains used in ``node`` (``a.b.c`` -> ["a","b","c"]) and a dynamic-code flag.

    Only the longest chain is yielded: ``a.b.c`` does not also yield ``a.b`` and ``a``, which
    would take the whole module ``a`` when only ``a.c`` is used.
    """
    inner: set[int] = set()  # ids of the parts of a chain already yielded
    for sub in ast.walk(node):
        if id(sub) in inner:
            continue
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
            if sub.func.id in _DYNAMIC_CALLS:
                yield [], True
            if sub.func.id in ("getattr", "setattr", "hasattr") and len(sub.args) >= 2 and (
                    not isinstance(sub.args[0], ast.Name) or sub.args[0].id != "self"):
                yield [], True
        if isinstance(sub, ast.Attribute):
            chain = []
            cur: ast.AST = sub
            while isinstance(cur, ast.Attribute):
                chain.append(cur.attr)
                cur = cur.value
                if isinstance(cur, (ast.Attribute, ast.Name)):
                    inner.add(id(cur))
            if isinstance(cur, ast.Name):
                yield [cur.id, *reversed(chain)], False
        elif isinstance(sub, ast.Name):
            yield [sub.id], False


class _Closure:
    def __init__(self, task_cls: type):
        self.task_base = Task
        self.mro = set(task_cls.__mro__)
        self.code: dict[str, str] = {}
        self.libs: dict[str, str] = {}
        self.files: dict[str, tuple[int, int]] = {}
        self.seen: set[str] = set()

    def add_library(self, module_name: str) -> None:
        top = module_name.split(".")[0]
        if top in sys.stdlib_module_names or top in ("builtins", "luisy", "__main__"):
            return
        self.libs.update(library_versions(top))

    def add_whole_module(self, name: str) -> None:
        unit = f"module:{name}"
        if unit in self.seen:
            return
        self.seen.add(unit)
        info = module_source(name)
        if info is None:
            return
        self.files[info.path] = info.stat
        self.code[unit] = info.digest

    def add_object(self, obj: Any, namespace: dict[str, Any], label: str) -> None:
        if inspect.ismodule(obj):
            if is_project_module(obj.__name__):
                self.add_whole_module(obj.__name__)
            else:
                self.add_library(obj.__name__)
            return
        if isinstance(obj, (type, FunctionType)):
            module = getattr(obj, "__module__", None) or ""
            if isinstance(obj, type) and issubclass(obj, self.task_base) and obj not in self.mro:
                return  # another task: an upstream, keyed through the graph
            if is_project_module(module):
                self.add_definition(obj)
            else:
                self.add_library(module)
            return
        if callable(obj) and hasattr(obj, "__module__") and not is_project_module(
                getattr(obj, "__module__", "") or ""):
            self.add_library(getattr(obj, "__module__", "") or "")
            return
        # a constant or an instance: its value counts, and its type's code
        kind = type(obj)
        if is_project_module(kind.__module__):
            self.add_definition(kind)
        elif kind.__module__ != "builtins":
            self.add_library(kind.__module__)
        unit = f"const:{label}"
        if unit not in self.seen:
            self.seen.add(unit)
            self.code[unit] = value_digest(obj)

    def add_definition(self, obj: Any) -> None:
        module = obj.__module__
        unit = f"{module}.{obj.__qualname__}"
        if unit in self.seen:
            return
        self.seen.add(unit)
        info = module_source(module)
        node = info.defs.get(obj.__qualname__) if info else None
        if node is None:
            self.code[unit] = _bytecode_digest(obj)
            return
        self.files[info.path] = info.stat
        self.code[unit] = node_digest(node)
        namespace = vars(sys.modules[module])
        for star in info.star_imports:
            self.add_whole_module(star)
        self.follow(node, namespace, module)
        if isinstance(obj, type):
            for base in obj.__mro__[1:]:
                if is_project_module(base.__module__):
                    self.add_definition(base)

    def follow(self, node: ast.AST, namespace: dict[str, Any], module: str) -> None:
        dynamic = False
        info = _cache.modules.get(module)
        imported = info.imported if info else {}
        for chain, is_dynamic in _dotted_names(node):
            if is_dynamic:
                dynamic = True
                continue
            if chain[0] not in namespace:
                continue
            obj = namespace[chain[0]]
            label = imported.get(chain[0]) or f"{module}.{chain[0]}"
            for attr in chain[1:]:
                if not (inspect.ismodule(obj) and is_project_module(obj.__name__)):
                    break
                if not hasattr(obj, attr):
                    break
                label = f"{obj.__name__}.{attr}"
                obj = getattr(obj, attr)
            self.add_object(obj, namespace, label)
        if dynamic:
            self.add_whole_module(module)


def _bytecode_digest(obj: Any) -> str:
    """Code without source (a notebook class): hash what Python compiled."""
    parts = []
    members = vars(obj).values() if isinstance(obj, type) else [obj]
    for member in members:
        func = getattr(member, "__func__", member)
        code = getattr(func, "__code__", None)
        if code is not None:
            parts.append(_code_repr(code))
    return text_digest("|".join(parts) or getattr(obj, "__qualname__", repr(obj)))


def _code_repr(code: Any) -> str:
    consts = [(_code_repr(c) if inspect.iscode(c) else repr(c)) for c in code.co_consts]
    return f"{code.co_code.hex()}:{consts}:{code.co_names}"


def _files_unchanged(files: dict[str, tuple[int, int]]) -> bool:
    try:
        return all(_stat(path) == stat for path, stat in files.items())
    except OSError:
        return False


def fingerprint(task_cls: type) -> Fingerprint:
    """The fingerprint of a task class, recomputed only when one of its files changed."""
    # library versions may come from the build's requirements file: part of the cache key
    slot = (task_cls, current().get_param("requirements_path"))
    with _cache.lock:
        cached = _cache.fingerprints.get(slot)
        if cached is not None and _files_unchanged(cached.files):
            return cached
        closure = _Closure(task_cls)
        closure.add_definition(task_cls)
        result = Fingerprint.of(closure.code, closure.libs, closure.files)
        _cache.fingerprints[slot] = result
        return result

