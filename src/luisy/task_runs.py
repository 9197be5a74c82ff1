"""One Prefect task run of luisy: what it carries, how it is named, what its body does.

The runner (:mod:`luisy.runner`) decides when a task runs; this module is what runs: the
Prefect task made for each luisy task class, and its body, which runs one luisy task (or a
group of tiny ones of one class) as a transaction on its output through the build's ledger.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from luisy.cache import Ledger, Record
from luisy.config import Settings, use
from luisy.errors import LuisyError
from luisy.logs import task_prints
from luisy.remote.sync import current_remote
from luisy.tasks.base import Task

if TYPE_CHECKING:
    from prefect.states import State


class RunUnit:
    """What one Prefect task run runs: one luisy task, or a group of one class.

    The task run's parameters are the luisy task's own (a group's: the names of its
    members), so the UI shows them; the unit itself is found by the task run in the build's
    registry (:data:`_UNITS`), or, on a Dask worker, comes with the call as one more
    parameter, picklable and plain so Prefect does not walk into it looking for futures.
    """

    __slots__ = ("cached", "config", "downloads", "external", "forced", "inputs", "keys",
                 "locations", "outputs", "reasons", "records", "tasks")

    def __init__(self, tasks: list[Task], reasons: list[str], keys: list[str],
                 records: list[Record | None], locations: list[str], cached: bool,
                 config: dict[str, Any] | None, forced: list[bool],
                 outputs: list[str | None], inputs: list[list[str]],
                 external: list[list[str]], downloads: list[bool] | None = None):
        self.tasks, self.reasons, self.keys, self.records = tasks, reasons, keys, records
        self.locations, self.cached, self.config = locations, cached, config
        #: per task: rerun though complete (``force``), so an output found current is redone
        self.forced = forced
        #: asset keys, per task: of its output (None: it has none), of every input it reads,
        #: of those inputs that are external data
        self.outputs, self.inputs, self.external = outputs, inputs, external
        #: per task: fetched from the build's remote instead of run (see luisy.remote)
        self.downloads = downloads or [False] * len(tasks)

    @property
    def name(self) -> str:
        """``Interim(month=2024-01)``, or for a group ``Leaf x100 (Leaf(i=0) … Leaf(i=99))``."""
        tasks = self.tasks
        if len(tasks) == 1:
            return str(tasks[0])
        return f"{tasks[0].get_task_family()} x{len(tasks)} ({tasks[0]} … {tasks[-1]})"

    @property
    def cache_key(self) -> str:
        """The luisy key of its task; for a group, one key made of its members' keys."""
        if len(self.keys) == 1:
            return self.keys[0]
        return hashlib.sha256("\n".join(self.keys).encode()).hexdigest()

    def parameters(self, carry: bool) -> dict[str, Any]:
        """The task run's parameters; ``carry``: with the unit itself (another process)."""
        shown: dict[str, Any] = ({GROUP: [str(t) for t in self.tasks]} if len(self.tasks) > 1
                                 else dict(self.tasks[0].param_kwargs))
        if carry:
            shown[CARRIED] = self
        return shown

    def __getstate__(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)


#: parameter names of a group's task run (its members) and of a unit sent along (Dask)
GROUP, CARRIED = "tasks", "luisy_unit"

#: the units of the build whose task runs run in this context, by their first task's name
_UNITS: ContextVar[dict[str, RunUnit] | None] = ContextVar("luisy_units", default=None)


def register(unit: RunUnit) -> None:
    """Make ``unit`` findable by its task run (in this build's context)."""
    units = _UNITS.get()
    if units is not None:
        units[str(unit.tasks[0])] = unit


def find_unit(cls: type[Task], grouped: bool, parameters: dict[str, Any]) -> RunUnit:
    """The unit a task run of ``cls`` runs, from its parameters: the one it carries (another
    process), else the build's, by its first task (a group's first member's name)."""
    carried = parameters.get(CARRIED)
    if carried is not None:
        return carried
    first = parameters[GROUP][0] if grouped else str(cls(**parameters))
    return _UNITS.get()[first]  # type: ignore[index]


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


@contextlib.contextmanager
def build_context(ledger: Ledger) -> Iterator[None]:
    """The build's ledger and a registry of its units, for the task runs started in this
    context (Prefect's threads copy it into theirs)."""
    ledger_token, units_token = _LEDGER.set(ledger), _UNITS.set({})
    try:
        yield
    finally:
        _UNITS.reset(units_token)
        _LEDGER.reset(ledger_token)


def _run_one(luisy_task: Task, record: Record | None, reason: str, ledger: Ledger,
             log_reason: bool, forced: bool = False, download: bool = False) -> bool:
    """Run one luisy task as a transaction on its output (or fetch it from the remote:
    ``download``), then upload it when the build uploads; False when another build completed
    it meanwhile (nothing ran).

    Why it runs goes into the task run's final state message; a log line says it only where
    that message cannot (a member of a group), as a line per task run is a record the server
    stores for every one of thousands of tiny tasks.
    """
    remote = current_remote()  # the build's (Prefect copies the context into its threads)
    if download:
        if log_reason:
            luisy_task.logger.info("%s downloaded: %s", luisy_task, reason)
        return ledger.fetch(luisy_task, record, functools.partial(
            remote.place_download, luisy_task, record))
    if log_reason:
        luisy_task.logger.info("%s ran because: %s", luisy_task, reason)
    engine = luisy_task.describe_engine()
    if engine:
        luisy_task.logger.info("engine: %s", engine)
    if record is None:  # a WrapperTask: nothing of its own to record
        luisy_task.run()
        return True
    ran = ledger.run(luisy_task, record, luisy_task.run, forced=forced)
    if ran and remote is not None and remote.uploads:
        remote.upload_after_run(luisy_task, record, ledger.store(record))
    return ran


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


def run_unit(unit: RunUnit) -> State:
    """Body of one Prefect task run: one luisy task, or a group of tiny ones of one class.

    A task found complete (shown with ``report_complete``) ends in Prefect's ``Cached``
    state. The outputs it writes are Prefect assets, materialised from its inputs' assets.
    A single task's final state carries its luisy key as cache key. A group runs every member
    and fails at the end, naming the members that failed, so the others still count.
    """
    from prefect.client.schemas.objects import StateDetails
    from prefect.states import Completed

    luisy_tasks, reasons, keys = unit.tasks, unit.reasons, unit.keys
    if unit.cached:
        return _cached(f"complete: {reasons[0]}", keys[0])
    with _unit_context(unit) as ledger, task_prints():
        if len(luisy_tasks) == 1:
            try:
                ran = _run_member(unit, 0, ledger, log_reason=False)
            except Exception:
                luisy_tasks[0].logger.info("%s ran because: %s", luisy_tasks[0], reasons[0])
                raise
            if not ran:
                return _cached(ELSEWHERE, keys[0])
            if unit.downloads[0]:
                return Completed(name=DOWNLOADED, message=f"downloaded: {reasons[0]}",
                                 state_details=StateDetails(cache_key=keys[0]))
            return Completed(message=f"ran because: {reasons[0]}",
                             state_details=StateDetails(cache_key=keys[0]))
        failed = {}
        for index, task in enumerate(luisy_tasks):
            try:
                _run_member(unit, index, ledger, log_reason=True)
            except Exception as exc:
                task.logger.exception("%s failed", task)
                failed[str(task)] = f"{type(exc).__name__}: {exc}"
    if failed:
        raise GroupFailed(failed, len(luisy_tasks))
    if all(unit.downloads):
        return Completed(name=DOWNLOADED, message=f"downloaded {len(luisy_tasks)} tasks")
    return Completed(message=f"ran {len(luisy_tasks)} tasks")


def _run_member(unit: RunUnit, index: int, ledger: Ledger, log_reason: bool) -> bool:
    """Run the unit's ``index``-th task (:func:`_run_one`), then send its asset events.

    A download sends none: it is a hit in the team's cache, and Prefect sends no asset event
    for a ``Cached`` task run either; the run that computed the output sent them.
    """
    from luisy.assets import emit_materialisation

    task = unit.tasks[index]
    if unit.downloads[index]:
        return _run_one(task, unit.records[index], unit.reasons[index], ledger, log_reason,
                        download=True)
    events = (task, unit.outputs[index], unit.keys[index], unit.inputs[index],
              unit.external[index])
    try:
        ran = _run_one(task, unit.records[index], unit.reasons[index], ledger, log_reason,
                       unit.forced[index])
    except Exception:
        emit_materialisation(*events, ok=False)
        raise
    if ran:  # not when another build made it meanwhile: this run wrote nothing
        emit_materialisation(*events, ok=True)
    return ran


def _cached(message: str, key: str) -> State:
    """Prefect's own Cached state: Completed named Cached, as its engine makes one when a
    transaction finds its key committed."""
    from prefect.client.schemas.objects import StateDetails
    from prefect.states import Completed

    return Completed(name="Cached", message=message,
                     state_details=StateDetails(cache_key=key))


#: the name of the final state of a task run that fetched its output from the remote
DOWNLOADED = "Downloaded"
#: the state message of a task that another build completed while this one waited for it
ELSEWHERE = "complete: another build made it meanwhile"


def prefect_task_for(cls: type[Task], grouped: bool = False, carry: bool = False) -> Any:
    """The Prefect task whose runs run tasks of ``cls`` (groups of them: ``grouped``), with
    the class's Prefect options.

    Its function takes the luisy task's parameters (a group's: ``tasks``, the members' names),
    plus, when the unit travels with the call to another process (``carry``), ``luisy_unit``.
    """
    from prefect import task as prefect_task
    from prefect.cache_policies import NO_CACHE

    from luisy.prefect_cache import LuisyKey

    # module-level helpers only: Dask pickles these functions by value, with what they use
    unit_of = functools.partial(find_unit, cls, grouped)
    names = [GROUP] if grouped else [name for name, _ in cls.get_params()]

    def run(**parameters: Any) -> State:
        return run_unit(unit_of(parameters))

    def run_name(parameters: dict[str, Any]) -> str:
        return unit_of(parameters).name

    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY)
         for n in [*names, *([CARRIED] if carry else [])]])
    run.__qualname__ = run.__name__ = f"run_{cls.__name__}{'_group' if grouped else ''}"
    run.__module__ = __name__
    found = prefect_task(
        run,
        name=cls.get_task_family(),
        task_run_name=run_name,
        retries=cls.retries,
        retry_delay_seconds=cls.retry_delay_seconds,
        timeout_seconds=cls.timeout_seconds,
        tags=list(cls.tags),
        cache_policy=NO_CACHE,
        persist_result=False,
        refresh_cache=True,
        log_prints=False,  # prints go to the terminal and the logs: logs.task_prints
    )
    # Prefect's constructor swaps any cache policy of a task without persisted results for
    # NO_CACHE (its policies exist to find results); luisy's targets are the results, so the
    # policy is set after it, to give the transaction and the task run their key
    found.cache_policy = LuisyKey(unit_of=unit_of)
    return found
