"""Run a pipeline in a test: ``LuisyTestCase`` (luisy 1.x) and :func:`run_isolated` under it.

A test names a task and hands in the outputs of some tasks as Python objects
(``existing_outputs``); the pipeline then runs for real, as Prefect flows, in a temporary
working dir, and the test gets luisy 1.x's execution summary and every output read back.

Why real runs rather than 1.x's mocked targets: the outputs the pipeline computes go
through their real formats (a csv round trip changes dtypes, a parquet write rejects mixed
columns), and the tasks run as the Prefect task runs they are in production. What stays as
in 1.x:

- the given outputs are served as given: ``read()`` of a given task's output returns a deep
  copy of the object handed in, whatever it is and whatever the task's format (a dict for a
  ``csv_output`` task is fine), so a task that mutates its input cannot change the test's
  object;
- :class:`LuisyTestCase` ignores given outputs of tasks outside the graph (1.x did, silently;
  here a log line names them); :func:`run_isolated` refuses them unless ``strict=False``;
- nothing outside the temporary working dir is read or written. Outputs of tasks that live
  elsewhere (an ExternalTask with its own ``get_outdir()``, say) are redirected into it for the
  run, so a test sees exactly the outputs it gave, and a missing one is reported as missing.
"""
from __future__ import annotations

import atexit
import contextlib
import copy
import logging
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

from luisy.config import Config, for_build, use
from luisy.errors import NotSupportedError, UsageError
from luisy.graph import TaskGraph, build_graph
from luisy.planner import make_plan
from luisy.runner import execute_plan
from luisy.summary import SUMMARY_KEYS, BuildSummary, execution_summary
from luisy.targets.base import Target
from luisy.targets.local import LocalTarget
from luisy.tasks.base import ExternalTask, Task, WrapperTask, map_structure
from luisy.testing.server import PrefectServer

ExistingOutputs = Sequence[tuple[Task, Any]]

logger = logging.getLogger("luisy.testing")

#: the working dir luisy 1.x's ``LuisyTestCase`` put into ``Config()`` (nothing is written there)
LUISY1_WORKING_DIR = "/some/working_dir/"

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
        """luigi's status: ``"failed"``, ``"missing_ext"`` or ``"success"`` (a flow run that
        crashed outside any task counts as failed)."""
        if self.summary["failed"] or self.build.flow_error:
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
        if self.build.flow_error:
            lines.append(f"  flow run failed: {self.build.flow_error}")
        return "\n".join(lines)


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


@contextlib.contextmanager
def _outputs_inside(graph: TaskGraph, working_dir: str,
                    skip: dict[Task, Any] | None = None) -> Iterator[None]:
    """Point every local output outside ``working_dir`` to a file inside it, for the run
    (except those of the tasks in ``skip``: their outputs are served from memory)."""
    with contextlib.ExitStack() as stack:
        for task in graph:
            if skip and task in skip:
                continue
            target = task.output()
            if isinstance(target, LocalTarget) and not _inside(target.path, working_dir):
                moved = os.path.join(working_dir, "_outside",
                                     os.path.abspath(target.path).lstrip(os.sep))
                redirected = type(target)(moved, **target.kwargs)
                stack.enter_context(mock.patch.object(task, "output", return_value=redirected))
        yield


class GivenOutput(Target):
    """A given object standing in for a task's output during a test run (luisy 1.x's mocked
    target): it exists, ``read()`` returns a deep copy of the object (the object itself when
    it cannot be copied, a Spark frame say), and no format is involved. Everything else
    (``path``, ``location``, a table's ``table_uri``) is the real target's."""

    def __init__(self, real: Target, obj: Any):
        self.real = real
        self.obj = obj
        self.file_ending = real.file_ending
        self.requires_pandas = real.requires_pandas
        self.accepts_spark_frames = real.accepts_spark_frames

    @classmethod
    def for_paths(cls, outfile: str, outdir: str, **kwargs: Any) -> Target:
        raise NotSupportedError("a GivenOutput wraps a real target; it is not made from paths")

    @property
    def path(self) -> str:
        return self.real.path

    @property
    def location(self) -> str:
        return self.real.location

    def folder(self) -> str | None:
        return self.real.folder()

    def _read(self) -> Any:
        try:
            return copy.deepcopy(self.obj)
        except Exception:  # sessions, locks, sockets: served as they are
            return self.obj

    def _write(self, obj: Any) -> None:
        self.obj = obj

    def _exists(self) -> bool:
        return True

    def _remove(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "real":
            raise AttributeError(name)
        return getattr(self.real, name)


def _split_given(root: Task, graph: TaskGraph, existing_outputs: ExistingOutputs,
                 strict: bool) -> tuple[dict[Task, Any], dict[Task, Any]]:
    """The given outputs of tasks in the graph, and of those outside it (refused if strict)."""
    inside: dict[Task, Any] = {}
    outside: dict[Task, Any] = {}
    for task, obj in existing_outputs:
        if task not in graph.deps:
            if strict:
                raise UsageError(f"existing_outputs: {task} is not part of the graph of "
                                 f"{root}; check its parameters")
            outside[task] = obj
            continue
        if isinstance(task, WrapperTask):
            raise UsageError(f"existing_outputs: {task} is a WrapperTask and has no output; "
                             "give the outputs of the tasks it wraps")
        inside[task] = obj
    if outside:
        logger.warning("existing_outputs: not part of the graph of %s, ignored: %s", root,
                       ", ".join(map(str, outside)))
    return inside, outside


@contextlib.contextmanager
def _serve_given(root: Task, given: dict[Task, Any]) -> Iterator[None]:
    """Serve the given objects as those tasks' outputs and record their current keys, so
    they count as complete and are not rerun."""
    with contextlib.ExitStack() as stack:
        for task, obj in given.items():
            served = GivenOutput(task.output(), obj)
            stack.enter_context(mock.patch.object(task, "output", new=lambda t=served: t))
        if given:
            plan = make_plan(root)
            for task in given:
                step = plan.steps[task]
                if step.store is not None and not isinstance(task, ExternalTask):
                    step.store.record(step.record)
            plan.stores.compact()
        yield


def _read_back(graph: TaskGraph, given: dict[Task, Any]) -> dict[Task, Any]:
    store = {}
    for task in graph:
        if task in given:
            store[task] = given[task]
            continue
        target = task.output()
        if target is not None and target.exists():
            store[task] = target.read()
    return store


def run_isolated(task: Task, existing_outputs: ExistingOutputs | None = None,
                 workers: int = 1, keep_working_dir: bool = False, *,
                 strict: bool = True) -> PipelineRun:
    """Build ``task`` as Prefect flows in a fresh temporary working dir and report.

    ``existing_outputs`` (``[(task, obj), ...]``) are served as those tasks' outputs, the
    objects as given (no format involved, ``read()`` returns a deep copy), with their current
    keys: they count as complete and are not rerun. A task outside the graph of ``task`` is
    refused (usually a wrong parameter); with ``strict=False`` it is ignored, as luisy 1.x
    did, and its object is still in ``store``. Config is restored and the working dir removed
    afterwards (unless ``keep_working_dir``).
    """
    api_url = ensure_prefect_api()
    working_dir = tempfile.mkdtemp(prefix="luisy-test-")
    try:
        with use(for_build({"working_dir": working_dir, "dry_run": False,
                            "hash_update_mode": False, "download": False, "upload": False})):
            graph = build_graph(task)
            given, outside = _split_given(task, graph, existing_outputs or (), strict)
            with (_outputs_inside(graph, working_dir, skip=given), use_prefect_api(api_url),
                  _serve_given(task, given)):
                plan = make_plan(task)
                build = execute_plan(plan, workers=workers)
                store = {**outside, **_read_back(graph, given)}
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

    As in luisy 1.x, ``existing_outputs`` may name tasks outside the graph (ignored; set
    ``strict_existing_outputs = True`` on the class to have them refused instead) and any
    Python object (served as given). The working dir a test set in ``Config()`` (``Config()
    .set_param('working_dir', d)``, ``create_testing_config(d)``) is kept, and nothing is
    written there; when none is set, a run sets 1.x's ``/some/working_dir/`` for the rest
    of the test (``task.get_outdir()`` reads as it did in 1.x), and the test's cleanup
    removes it again.
    """

    last_run: PipelineRun | None = None
    #: refuse given outputs of tasks outside the graph (luisy 2's :func:`run_isolated`)
    strict_existing_outputs: bool = False
    #: what ``Config()``'s working dir reads after a run when the test set none (luisy 1.x)
    default_working_dir: str = LUISY1_WORKING_DIR

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        ensure_prefect_api()

    def _run(self, task: Task, existing_outputs: ExistingOutputs | None) -> PipelineRun:
        self._set_default_working_dir()
        self.last_run = run_isolated(task, existing_outputs,
                                     strict=self.strict_existing_outputs)
        return self.last_run

    def _set_default_working_dir(self) -> None:
        config = Config()
        previous = config.get_param("working_dir")
        if previous or not self.default_working_dir:
            return
        config.set_param("working_dir", self.default_working_dir)

        def restore() -> None:
            if config.get_param("working_dir") == self.default_working_dir:
                config.set_param("working_dir", previous)

        self.addCleanup(restore)

    def run_pipeline(self, task: Task, existing_outputs: ExistingOutputs | None = None,
                     return_store: bool = False) -> Any:
        """Run ``task`` and return its output (all outputs, by task, with ``return_store``:
        also the given ones of tasks outside the graph, as in luisy 1.x).

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


__all__ = ["LUISY1_WORKING_DIR", "SUMMARY_KEYS", "GivenOutput", "LuisyTestCase", "PipelineRun",
           "ensure_prefect_api", "execution_summary", "run_isolated", "use_prefect_api"]
