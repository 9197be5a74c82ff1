"""luisy 1.x's testing functions: ``create_testing_config``, ``debug_run``, ``create_file``
and ``get_all_dependencies`` (and :class:`~luisy.testing.spark_mock.SparkMock`).

They keep 1.x's names, arguments and results. What differs is said in each docstring; the
common thread: 1.x's ``debug_run`` was a bare ``luigi.build``, here it is a real luisy build
(Prefect flow runs, recorded keys), in the working dir ``Config()`` holds, like 1.x.
"""
from __future__ import annotations

import enum
import os
import pickle
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from luisy.config import Config, default_settings, for_build, use
from luisy.graph import build_graph
from luisy.planner import make_plan
from luisy.runner import execute_plan
from luisy.summary import SUMMARY_KEYS, BuildSummary, execution_summary
from luisy.tasks.base import Task
from luisy.testing.case import ensure_prefect_api, use_prefect_api
from luisy.testing.spark_mock import SparkMock


def create_testing_config(working_dir: str | os.PathLike, storage_key: str = "",
                          container_name: str = "", account_name: str = "",
                          mock_spark: bool = True, **kwargs: Any) -> None:
    """Set ``Config()`` up for a test, as luisy 1.x did: ``working_dir`` (mostly a temporary
    dir), the Azure account given (empty by default), ``spark`` a fresh :class:`SparkMock`
    (``None`` with ``mock_spark=False``), every setting with a default other than ``None``
    back to it (``download``, ``upload``, ``dry_run``, ...), then ``kwargs`` on top.

    Differs from 1.x: ``storage_key`` sets luisy 2's ``azure_account_key`` (which
    ``Config()`` also reads as 1.x's ``azure_storage_key``); the SparkMock is backed by the
    embedded Spark engine (see its docstring). Keywords go to ``Config().update`` as they
    are: a name luisy does not know is stored with a warning, as ``Config()`` does.
    """
    params: dict[str, Any] = {k: v for k, v in default_settings().items()
                              if v is not None}
    params.update({
        "working_dir": os.fspath(working_dir),
        "azure_account_key": storage_key,
        "azure_container_name": container_name,
        "azure_account_name": account_name,
        "spark": SparkMock() if mock_spark else None,
    })
    params.update(kwargs)  # Config() takes 1.x's names (azure_storage_key) too
    Config().update(params)


def get_all_dependencies(task: Task) -> set[Task]:
    """``task`` and every task it needs, directly or not (as luisy 1.x: a set)."""
    return set(build_graph(task).deps)


def create_file(file: str | os.PathLike, val: Any) -> None:
    """Pickle ``val`` into ``file`` (luisy 1.x); its folder is made when missing.

    For a task's own output prefer ``task.write(val)``: it also records the task's key, so
    builds count the output as complete (a file made by hand is rebuilt, see
    :func:`debug_run`). ExternalTasks count as complete when their file exists.
    """
    path = os.fspath(file)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(val, fh)


class StatusCode(enum.Enum):
    """luigi's ``LuigiStatusCode``, with its names and values, for when luigi is not
    installed (:attr:`DebugRunResult.status` is luigi's own enum when it is)."""

    SUCCESS = (":)", "there were no failed tasks or missing dependencies")
    SUCCESS_WITH_RETRY = (":)", "there were failed tasks but they all succeeded in a retry")
    FAILED = (":(", "there were failed tasks")
    FAILED_AND_SCHEDULING_FAILED = (":(", "there were failed tasks and tasks whose "
                                          "scheduling failed")
    SCHEDULING_FAILED = (":(", "there were tasks whose scheduling failed")
    NOT_RUN = (":|", "there were tasks that were not granted run permission by the scheduler")
    MISSING_EXT = (":|", "there were missing external dependencies")


def status_codes() -> type[enum.Enum]:
    """luigi's ``LuigiStatusCode`` when luigi is importable, else :class:`StatusCode`."""
    try:
        from luigi.execution_summary import LuigiStatusCode
    except ImportError:
        return StatusCode
    return LuigiStatusCode


def status_of(summary: Mapping[str, set[Task]], flow_failed: bool = False) -> enum.Enum:
    """The status luigi derived from its summary (``luigi.execution_summary``); a flow run
    that failed outside any task counts as a failed task."""
    codes = status_codes()
    if summary["ever_failed"] or flow_failed:
        if not summary["failed"] and not flow_failed:
            return codes.SUCCESS_WITH_RETRY
        if summary["scheduling_error"]:
            return codes.FAILED_AND_SCHEDULING_FAILED
        return codes.FAILED
    if summary["scheduling_error"]:
        return codes.SCHEDULING_FAILED
    if summary["not_run"]:
        return codes.NOT_RUN
    if summary["still_pending_ext"]:
        return codes.MISSING_EXT
    return codes.SUCCESS


@dataclass
class DebugRunResult:
    """What ``debug_run(..., return_summary=False)`` returns: luigi's ``LuigiRunResult``
    as far as 1.x users read it (``status``, ``summary_text``, ``one_line_summary``,
    ``scheduling_succeeded``), with the summary dict and luisy's build summaries."""

    tasks: list[Task]
    summary: dict[str, set[Task]]
    builds: list[BuildSummary] = field(repr=False)

    @property
    def status(self) -> enum.Enum:
        """A ``LuigiStatusCode`` member (luisy's :class:`StatusCode` without luigi)."""
        return status_of(self.summary, any(b.flow_error for b in self.builds))

    @property
    def scheduling_succeeded(self) -> bool:
        """luigi's: no task failed to be scheduled (always true for a luisy build)."""
        return not self.summary["scheduling_error"]

    @property
    def ok(self) -> bool:
        """Nothing failed and no external data was missing."""
        return self.status.name == "SUCCESS"

    @property
    def one_line_summary(self) -> str:
        """luigi's closing line: ``This progress looks :) because ...``."""
        smiley, text = self.status.value
        return f"This progress looks {smiley} because {text}"

    @property
    def summary_text(self) -> str:
        """The summary as text: the tasks under each key, the errors, the closing line."""
        lines = [f"Scheduled {len(self.tasks)} root task(s): "
                 + ", ".join(map(str, self.tasks))]
        lines += [f"* {k}: {', '.join(sorted(map(str, v)))}" for k, v in self.summary.items()
                  if v]
        for build in self.builds:
            lines += [f"  error in {t}: {e}" for t, e in build.errors.items()]
            if build.flow_error:
                lines.append(f"  flow run failed: {build.flow_error}")
        lines.append(self.one_line_summary)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary_text


def _merge(summaries: Iterable[dict[str, set[Task]]]) -> dict[str, set[Task]]:
    """One summary of several builds, as luigi's one build of several roots: a task that a
    build completed is not "already done" for a later one."""
    merged: dict[str, set[Task]] = {key: set() for key in SUMMARY_KEYS}
    for summary in summaries:
        for key in SUMMARY_KEYS:
            merged[key] |= summary[key]
    merged["already_done"] -= merged["completed"]
    return merged


def _as_list(tasks: Task | Iterable[Task]) -> list[Task]:
    return [tasks] if isinstance(tasks, Task) else list(tasks)


def debug_run(tasks: Task | Iterable[Task], return_summary: bool = True,
              workers: int = 1) -> dict[str, set[Task]] | DebugRunResult:
    """Build ``tasks`` (one task or several) for real, bypassing the CLI, and report.

    Returns, as in luisy 1.x, a dict of sets of tasks under luigi's summary keys
    (``completed``: built now, ``already_done``: complete before, ``failed``,
    ``still_pending_ext``, ``upstream_failure``, ...), or with ``return_summary=False`` a
    :class:`DebugRunResult` (luigi's run result: ``status`` is a ``LuigiStatusCode``).

    The builds run in the working dir ``Config()`` holds (``create_testing_config``), as
    Prefect flow runs (a throwaway local Prefect server is started when no API answers),
    one per root task, in order; ``dry_run`` and ``hash_update_mode`` are off for them.

    Differs from 1.x, whose ``debug_run`` was a bare ``luigi.build``: a task is complete when
    its output exists *and* holds its current key, as in every luisy build, so an output file
    made by hand for a task that is not an ExternalTask is rebuilt (``task.write(obj)``
    records the key with the data), and an output whose code changed since is rebuilt too.
    External data that is missing stops a build before anything runs (luigi ran what it
    could); its tasks are ``upstream_missing_dependency``, the others
    ``still_pending_not_ext``.
    """
    roots = _as_list(tasks)
    api_url = ensure_prefect_api()
    summaries: list[dict[str, set[Task]]] = []
    builds: list[BuildSummary] = []
    with use_prefect_api(api_url):
        for root in roots:
            with use(for_build({"dry_run": False, "hash_update_mode": False})):
                plan = make_plan(root)
                build = execute_plan(plan, workers=workers)
            builds.append(build)
            summaries.append(execution_summary(plan, build))
    result = DebugRunResult(roots, _merge(summaries), builds)
    return result.summary if return_summary else result


__all__ = ["DebugRunResult", "SparkMock", "StatusCode", "create_file", "create_testing_config",
           "debug_run", "get_all_dependencies", "status_codes", "status_of"]
