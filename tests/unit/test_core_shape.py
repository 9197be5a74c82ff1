"""The shape of the core, read from the code's own imports: layers, no circles, one error type.

Every import counts, also those inside functions or under ``TYPE_CHECKING``: a lazy import is
still a dependency a reader has to hold in mind.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import inspect
from pathlib import Path

import pytest

import luisy
from luisy.errors import LuisyError

SRC = Path(luisy.__file__).parent

MODEL = ("luisy.errors", "luisy.naming", "luisy.parameters", "luisy.date_interval",
         "luisy.config", "luisy.services", "luisy.logs", "luisy.decorators",
         "luisy.spark_storage", "luisy.tasks", "luisy.targets")
ABOVE_MODEL = ("luisy.graph", "luisy.cache", "luisy.planner", "luisy.runner", "luisy.task_runs",
               "luisy.prefect_cache", "luisy.assets",
               "luisy.summary",
               "luisy.prefect_flow", "luisy.artifacts", "luisy.visualize", "luisy.discovery",
               "luisy.file_patterns",
               "luisy.cli", "luisy.verification", "luisy.testing", "luisy.deployments",
               "luisy.deploy_steps")


def _module_name(path: Path) -> str:
    parts = ["luisy", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}


def _imports(name: str) -> list[tuple[str, str]]:
    """(module imported, names taken) for every luisy import in the module, at any depth."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(a.name, "") for a in node.names if a.name.startswith("luisy")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            if not base.startswith("luisy"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((sub if sub in MODULES else base, alias.name))
    return [(m, n) for m, n in found if m in MODULES]


GRAPH = {name: {m for m, _ in _imports(name)} - {name} for name in MODULES}


def _in(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}
    circles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt):], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return circles


def test_the_modules_form_no_import_circle():
    assert _circles(GRAPH) == []


def _package(name: str) -> str:
    return ".".join(name.split(".")[:2])


def test_the_packages_form_no_import_circle():
    """A folder is one unit to a reader: ``spark/`` importing ``targets/`` while ``targets/``
    imports ``spark/`` is a knot even when no two files import each other."""
    packages: dict[str, set[str]] = {}
    for name, imported in GRAPH.items():
        packages.setdefault(_package(name), set()).update(
            _package(m) for m in imported if _package(m) != _package(name))
    assert _circles(packages) == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _in(n, MODEL)))
def test_the_task_model_imports_nothing_above_it(name):
    above = sorted(m for m in GRAPH[name] if _in(m, ABOVE_MODEL))
    assert above == [], f"{name} imports {above}"


def test_config_imports_nothing_from_spark():
    assert not [m for m in GRAPH["luisy.config"] if _in(m, ("luisy.spark",))]


def test_the_cache_stands_on_the_model_and_the_graph_only():
    for name in (n for n in MODULES if _in(n, ("luisy.cache",))):
        above = sorted(m for m in GRAPH[name]
                       if _in(m, ABOVE_MODEL) and not _in(m, ("luisy.cache", "luisy.graph")))
        assert above == [], f"{name} imports {above}"


def test_stale_after_uses_the_public_seam_of_the_cache():
    private = [(m, n) for m, n in _imports("luisy.testing.stale") if n.startswith("_")]
    assert private == []


def _raised_names(name: str) -> list[tuple[str, int]]:
    tree = ast.parse(MODULES[name].read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            if isinstance(func, ast.Name):
                found.append((func.id, node.lineno))
    return found


#: builtin exceptions that are right where they are: a module's ``__getattr__`` must raise
#: AttributeError; pydantic validators must raise ValueError (pydantic reports them)
ALLOWED = {("AttributeError", "__getattr__"), ("ValueError", "_check_mode_fields")}


def _enclosing_function(name: str, lineno: int) -> str:
    tree = ast.parse(MODULES[name].read_text())
    best = ""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                node.lineno <= lineno <= (node.end_lineno or node.lineno):
            best = node.name
    return best


@pytest.mark.parametrize("name", sorted(set(MODULES) - {"luisy.__main__"}))  # it runs the CLI
def test_everything_luisy_raises_is_a_luisy_error(name):
    module = importlib.import_module(name)
    wrong = []
    for exc_name, lineno in _raised_names(name):
        exc = getattr(module, exc_name, None) or getattr(builtins, exc_name, None)
        if inspect.isclass(exc) and issubclass(exc, LuisyError):
            continue
        if (exc_name, _enclosing_function(name, lineno)) in ALLOWED:
            continue
        wrong.append(f"{MODULES[name].name}:{lineno} raises {exc_name}")
    assert wrong == []
