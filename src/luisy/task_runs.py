"""One Prefect task run of luisy: what it carries, how it is named, what its body does.

The runner (:mod:`luisy.runner`) decides when a task runs; this module is what runs: the
Prefect task made for each luisy task class, and its body, which runs one luisy task (or a
group of tiny ones of one class) as a transaction on its output through the build's ledger.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from luisy.cache import Ledger, Record
from luisy.config import Settings, use
from luisy.errors import LuisyError
from luisy.logs import task_prints
from luisy.tasks.base import Task

if TYPE_CHECKING:
    from prefect.states import State


class RunUnit:
    """What one Prefect task run carries: one luisy task, or a group of one class.

    A single plain, picklable parameter: Prefect does not walk into it looking for futures,
    and the server's flow-run graph counts each dependency edge once (it multiplies parent
    edges by the number of task-run parameters).
    """

    __slots__ = ("cached", "config", "forced", "keys", "locations", "reasons", "records",
                 "tasks")

    def __init__(self, tasks: list[Task], reasons: list[str], keys: list[str],
                 records: list[Record | None], locations: list[str], cached: bool,
                 config: dict[str, Any] | None, forced: list[bool]):
        self.tasks, self.reasons, self.keys, self.records = tasks, reasons, keys, records
        self.locations, self.cached, self.config = locations, cached, config
        #: per task: rerun though complete (``force``), so an output found current is redone
        self.forced = forced

    def __getstate__(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)


def _run_name(parameters: dict[str, Any]) -> str:
    """``Interim(month=2024-01)``, or for a group ``Leaf x100 (Leaf(i=0) … Leaf(i=99))``."""
    tasks = parameters["unit"].tasks
    if len(tasks) == 1:
        return str(tasks[0])
    return f"{tasks[0].get_task_family()} x{len(tasks)} ({tasks[0]} … {tasks[-1]})"


class GroupFailed(LuisyError):
    """Some members of a grouped task run failed; ``failed`` maps their names to errors."""

    def __init__(self, failed: dict[str, str], total: int):
        self.failed = failed
        names = ", ".join(list(failed)[:5]) + (" …" if len(failed) > 5 else "")
        super().__init__(f"{len(failed)} of {total} grouped tasks failed: {names}")

    def __reduce__(self) -> tuple:  # survives pickling to and from a Dask worker
        return (GroupFailed, (self.failed, len(self.failed)))


#: the ledger of the build whose task runs run in this context (threads of its flow run)
_LEDGER: ContextVar[Ledger | None] = ContextVar("luisy_ledger", default=None)


def _run_one(luisy_task: Task, record: Record | None, reason: str, ledger: Ledger,
             log_reason: bool, forced: bool = False) -> bool:
    """Run one luisy task as a transaction on its output; False when another build completed
    it meanwhile (nothing ran).

    Why it runs goes into the task run's final state message; a log line says it only where
    that message cannot (a member of a group), as a line per task run is a record the server
    stores for every one of thousands of tiny tasks.
    """
    if log_reason:
        luisy_task.logger.info("%s ran because: %s", luisy_task, reason)
    engine = luisy_task.describe_engine()
    if engine:
        luisy_task.logger.info("engine: %s", engine)
    if record is None:  # a WrapperTask: nothing of its own to record
        luisy_task.run()
        return True
    return ledger.run(luisy_task, record, luisy_task.run, forced=forced)


@contextlib.contextmanager
def _unit_context(unit: RunUnit) -> Iterator[Ledger]:
    """The build's settings and ledger: this thread's (copied from the flow run's context),
    or, in another process (Dask), made from what the unit brought."""
    if unit.config is None:
        yield _LEDGER.get() or Ledger()
        return
    with use(Settings(unit.config)):
        ledger = Ledger()
        try:
            yield ledger
        finally:
            ledger.compact()  # this process's records, folded (and its journal closed)


def run_luisy_tasks(unit: RunUnit) -> State:
    """Body of one Prefect task run: one luisy task, or a group of tiny ones of one class.

    A module-level function of a picklable argument, so a Dask task runner can run it in
    another process or on another machine; ``unit.config`` then brings luisy's settings.
    A single task's final state carries its luisy key as cache key. A group runs every member
    and fails at the end, naming the members that failed, so the others still count.
    """
    from prefect.client.schemas.objects import StateDetails
    from prefect.states import Completed

    luisy_tasks, reasons, keys = unit.tasks, unit.reasons, unit.keys
    if unit.cached:
        return Completed(name="Cached", message=f"complete: {reasons[0]}",
                         state_details=StateDetails(cache_key=keys[0]))
    with _unit_context(unit) as ledger, task_prints():
        if len(luisy_tasks) == 1:
            try:
                ran = _run_one(luisy_tasks[0], unit.records[0], reasons[0], ledger,
                               log_reason=False, forced=unit.forced[0])
            except Exception:
                luisy_tasks[0].logger.info("%s ran because: %s", luisy_tasks[0], reasons[0])
                raise
            if not ran:
                return Completed(name="Cached", message=ELSEWHERE,
                                 state_details=StateDetails(cache_key=keys[0]))
            return Completed(message=f"ran because: {reasons[0]}",
                             state_details=StateDetails(cache_key=keys[0]))
        failed = {}
        for task, record, reason, forced in zip(luisy_tasks, unit.records, reasons,
                                                unit.forced, strict=True):
            try:
                _run_one(task, record, reason, ledger, log_reason=True, forced=forced)
            except Exception as exc:
                task.logger.exception("%s failed", task)
                failed[str(task)] = f"{type(exc).__name__}: {exc}"
    if failed:
        raise GroupFailed(failed, len(luisy_tasks))
    return Completed(message=f"ran {len(luisy_tasks)} tasks")


#: the state message of a task that another build completed while this one waited for it
ELSEWHERE = "complete: another build made it meanwhile"


def prefect_task_for(cls: type[Task]) -> Any:
    """The Prefect task whose runs run tasks of ``cls``, with the class's Prefect options."""
    from prefect import task as prefect_task
    from prefect.cache_policies import NO_CACHE

    return prefect_task(
        run_luisy_tasks,
        name=cls.get_task_family(),
        task_run_name=_run_name,
        retries=cls.retries,
        retry_delay_seconds=cls.retry_delay_seconds,
        timeout_seconds=cls.timeout_seconds,
        tags=list(cls.tags),
        cache_policy=NO_CACHE,
        persist_result=False,
        log_prints=False,  # prints go to the terminal and the logs: logs.task_prints
    )
