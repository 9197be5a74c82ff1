"""Run a pipeline in a test: ``LuisyTestCase`` (luisy 1.x) and :func:`run_isolated` under it.

A test names a task and hands in the outputs of some tasks as Python objects
(``existing_outputs``); the pipeline then runs for real, as Prefect flows, in a temporary
working dir, and the test gets luisy 1.x's execution summary and every output read back.

Why real runs rather than 1.x's mocked targets: the outputs go through their real formats
(a csv round trip changes dtypes, a parquet write rejects mixed columns), and the tasks
run as the Prefect task runs they are in production. What stays as in 1.x: nothing outside
the temporary working dir is read or written. Outputs of tasks that live elsewhere (an
ExternalTask with its own ``get_outdir()``, say) are redirected into it for the run, so a test
sees exactly the outputs it gave, and a missing one is reported as missing.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import threading
import unittest
import urllib.request
from collections.abc import Iterator, KeysView, Sequence
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from luisy.config import for_build, use
from luisy.errors import UsageError
from luisy.graph import TaskGraph, build_graph
from luisy.planner import make_plan
from luisy.runner import execute_plan
from luisy.summary import SUMMARY_KEYS, BuildSummary, execution_summary
from luisy.targets.local import LocalTarget
from luisy.tasks.base import ExternalTask, Task, WrapperTask, map_structure
from luisy.testing.server import PrefectServer

ExistingOutputs = Sequence[tuple[Task, Any]]

# ------------------------------------------------------------------------- Prefect API
_server: PrefectServer | None = None
_server_lock = threading.Lock()


def _answers(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=3) as resp:
            return resp.status == 200
    except (OSError, ValueError):
        return False


def ensure_prefect_api() -> str:
    """The URL of a live Prefect API: the configured one if it answers, else a throwaway
    local server started once per process (stopped at exit).

    Prefect reads its settings when imported, so the URL is applied per run with
    :func:`use_prefect_api` rather than through the environment.
    """
    global _server
    from prefect.settings import PREFECT_API_URL

    configured = PREFECT_API_URL.value()
    if configured and _answers(configured):
        return configured
    with _server_lock:
        if _server is None:
            _server = PrefectServer().start()
            atexit.register(_server.stop)
    return _server.api_url


@contextlib.contextmanager
def use_prefect_api(api_url: str) -> Iterator[None]:
    """Flows run inside report to ``api_url`` (a no-op when it is already configured)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value() == api_url:
        yield
        return
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        yield


# --------------------------------------------------------------------------- one run
@dataclass
class PipelineRun:
    """What :func:`run_isolated` did. It reads like luisy 1.x's summary dict
    (``run["completed"]``, ``dict(run)``) and also holds every output read back."""

    task: Task
    summary: dict[str, set[Task]]
    store: dict[Task, Any]
    build: BuildSummary = field(repr=False)

    def __getitem__(self, key: str) -> set[Task]:
        return self.summary[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.summary)

    def __len__(self) -> int:
        return len(self.summary)

    def keys(self) -> KeysView[str]:
        return self.summary.keys()

    @property
    def status(self) -> str:
        """luigi's status: ``"failed"``, ``"missing_ext"`` or ``"success"``."""
        if self.summary["failed"]:
            return "failed"
        if self.summary["still_pending_ext"]:
            return "missing_ext"
        return "success"

    @property
    def ok(self) -> bool:
        return self.status == "success"

    @property
    def output(self) -> Any:
        """The root task's output (a WrapperTask's: its wrapped outputs, as ``read()``)."""
        if isinstance(self.task, WrapperTask):
            return map_structure(self.store.__getitem__, self.task.requires())
        return self.store[self.task]

    def describe(self) -> str:
        lines = [f"{self.task}: {self.status}"]
        lines += [f"  {k}: {sorted(map(str, v))}" for k, v in self.summary.items() if v]
        lines += [f"  error in {t}: {e}" for t, e in self.build.errors.items()]
        return "\n".join(lines)


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


@contextlib.contextmanager
def _outputs_inside(graph: TaskGraph, working_dir: str) -> Iterator[None]:
    """Point every local output outside ``working_dir`` to a file inside it, for the run."""
    with contextlib.ExitStack() as stack:
        for task in graph:
            target = task.output()
            if isinstance(target, LocalTarget) and not _inside(target.path, working_dir):
                moved = os.path.join(working_dir, "_outside",
                                     os.path.abspath(target.path).lstrip(os.sep))
                redirected = type(target)(moved, **target.kwargs)
                stack.enter_context(mock.patch.object(task, "output", return_value=redirected))
        yield


def _give_outputs(root: Task, graph: TaskGraph, existing_outputs: ExistingOutputs) -> None:
    """Write the given objects as outputs and record their keys, so they count as complete."""
    given: dict[Task, Any] = {}
    for task, obj in existing_outputs:
        if task not in graph.deps:
            raise UsageError(f"existing_outputs: {task} is not part of the graph of {root}; "
                             "check its parameters")
        if isinstance(task, WrapperTask):
            raise UsageError(f"existing_outputs: {task} is a WrapperTask and has no output; "
                             "give the outputs of the tasks it wraps")
        task.output().write(obj)
        given[task] = obj
    if not given:
        return
    plan = make_plan(root)
    for task in given:
        step = plan.steps[task]
        if step.store is not None and not isinstance(task, ExternalTask):
            step.store.record(step.record)
    plan.stores.compact()


def _read_back(graph: TaskGraph) -> dict[Task, Any]:
    store = {}
    for task in graph:
        target = task.output()
        if target is not None and target.exists():
            store[task] = target.read()
    return store


def run_isolated(task: Task, existing_outputs: ExistingOutputs | None = None,
                 workers: int = 1, keep_working_dir: bool = False) -> PipelineRun:
    """Build ``task`` as Prefect flows in a fresh temporary working dir and report.

    ``existing_outputs`` (``[(task, obj), ...]``) are written first, as those tasks' outputs
    with their current keys: they count as complete and are not rerun. Config is restored and
    the working dir removed afterwards (unless ``keep_working_dir``).
    """
    api_url = ensure_prefect_api()
    working_dir = tempfile.mkdtemp(prefix="luisy-test-")
    try:
        with use(for_build({"working_dir": working_dir, "dry_run": False,
                            "hash_update_mode": False, "download": False, "upload": False})):
            graph = build_graph(task)
            with _outputs_inside(graph, working_dir), use_prefect_api(api_url):
                _give_outputs(task, graph, existing_outputs or ())
                plan = make_plan(task)
                build = execute_plan(plan, workers=workers)
                store = _read_back(graph)
        return PipelineRun(task, execution_summary(plan, build), store, build)
    finally:
        if not keep_working_dir:
            shutil.rmtree(working_dir, ignore_errors=True)


# --------------------------------------------------------------------- LuisyTestCase
class LuisyTestCase(unittest.TestCase):
    """luisy 1.x's test case: run pipelines with given outputs and assert on the result.

    Every method runs the pipeline afresh in its own temporary working dir, so tests do not
    see each other's outputs. ``self.last_run`` is the last :class:`PipelineRun`.
    ``setUpClass`` makes sure a Prefect API answers (starting a local server once per
    process when none is configured), so the first test does not pay for it.
    """

    last_run: PipelineRun | None = None

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        ensure_prefect_api()

    def _run(self, task: Task, existing_outputs: ExistingOutputs | None) -> PipelineRun:
        self.last_run = run_isolated(task, existing_outputs)
        return self.last_run

    def run_pipeline(self, task: Task, existing_outputs: ExistingOutputs | None = None,
                     return_store: bool = False) -> Any:
        """Run ``task`` and return its output (all outputs, by task, with ``return_store``).

        Fails the test, with the summary, when the run did not succeed.
        """
        run = self._run(task, existing_outputs)
        if not run.ok:
            self.fail(f"pipeline did not succeed:\n{run.describe()}")
        return dict(run.store) if return_store else run.output

    def get_execution_summary(self, task: Task, existing_outputs: ExistingOutputs | None = None
                              ) -> dict[str, set[Task]]:
        """Run ``task`` and return luisy 1.x's summary: sets of tasks under luigi's keys."""
        return self._run(task, existing_outputs).summary

    def assertSuccess(self, task: Task, existing_outputs: ExistingOutputs | None = None
                      ) -> None:
        run = self._run(task, existing_outputs)
        if run.status != "success":
            self.fail(f"expected success:\n{run.describe()}")

    def assertFail(self, task: Task, existing_outputs: ExistingOutputs | None = None
                   ) -> None:
        run = self._run(task, existing_outputs)
        if run.status == "success":
            self.fail(f"expected the pipeline to fail:\n{run.describe()}")

    def assertMissing(self, task: Task, existing_outputs: ExistingOutputs | None = None
                      ) -> None:
        run = self._run(task, existing_outputs)
        if run.status != "missing_ext":
            self.fail(f"expected missing external data:\n{run.describe()}")


__all__ = ["SUMMARY_KEYS", "LuisyTestCase", "PipelineRun", "ensure_prefect_api",
           "execution_summary", "run_isolated", "use_prefect_api"]
