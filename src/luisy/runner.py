"""Run a plan as one Prefect flow run: one Prefect task run per luisy task that must run.

The scheduler submits a task only when its upstreams are done and keeps at most ``workers``
in flight, so no worker thread is parked waiting and the limit holds whatever the task runner
(threads by default, Dask across machines). When the task runner is itself a pool of at most
``workers`` threads (the default), up to ``workers`` more ready tasks wait in its queue, so a
thread that finishes a task starts the next without waiting for the scheduler's turn.
Prefect records the dependency edges (the upstream task runs, as ``wait_for`` inputs), without
waiting on them: they are done when a task is submitted (:func:`edges_only`). A
failing task fails its task run (traceback in its logs); its downstream is never submitted and
is reported as upstream-failed; independent branches finish.
"""
from __future__ import annotations

import collections
import contextlib
import contextvars
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from luisy.assets import asset_key
from luisy.cache import (
    OVERRIDES,
    Category,
    Ledger,
    Observed,
    adopted,
    as_written,
    differs,
    recorded_fields,
)
from luisy.config import current, for_build, use
from luisy.errors import LuisyError, MissingExternalError, PrefectServerError, RemoteError
from luisy.planner import Decision, Plan, Step, make_plan
from luisy.remote.sync import Remote, current_remote, remote_for_build
from luisy.summary import BuildSummary
from luisy.task_runs import (
    ELSEWHERE,
    GroupFailed,
    RunUnit,
    build_context,
    prefect_task_for,
    register,
)
from luisy.tasks.base import ExternalTask, Task
from luisy.unfinished_runs import forget, mark_crashed, record

if TYPE_CHECKING:
    from luisy.artifacts import Publisher

#: progress(event, step, seconds): event is "start", "done", "failed" or "upstream failed"
Progress = Callable[[str, Step, float], None]


logger = logging.getLogger("luisy")
#: a log record's attribute saying it repeats what the build's summary says (the CLI, which
#: prints the summary, leaves such lines out)
REPEATS_SUMMARY = "luisy_repeats_summary"


class BuildFailed(LuisyError):
    """Raised inside the flow so its run ends Failed when a task failed."""


def build(
    task: Task,
    workers: int = 1,
    *,
    dry_run: bool | None = None,
    hash_update_mode: bool | None = None,
    progress: Progress | None = None,
    task_runner: Any = None,
    report_complete: bool = False,
    group_size: int = 1,
    force: Iterable[str] = (),
    verify: bool = False,
    **config: Any,
) -> BuildSummary:
    """Plan ``task`` and everything it needs, then run what is not complete as a Prefect flow.

    Keyword ``config`` are settings of this build only (``working_dir``, ``cloud_mode``,
    ``spark``, ...), on top of ``Config()``'s defaults, which stay as they are. Returns a
    :class:`~luisy.summary.BuildSummary`; a missing ExternalTask stops the build before
    anything runs, with one error line naming the file and the tasks that need it.

    With ``report_complete=True`` complete tasks appear in the flow run too, as task runs in a
    ``Cached`` state; by default a complete subgraph costs no task runs.

    ``group_size > 1`` packs tasks of one class that are ready together into one task run of
    up to that many (for many tiny tasks, where Prefect's per-run cost dominates); a class's
    own ``group_size`` (``@luisy.prefect_options(group_size=...)``) takes precedence.

    ``force`` reruns the named tasks (class names, tasks as they print, or ``"all"``) and
    everything that depends on them, complete or not (reason: forced).

    ``verify=True`` also checks the bytes of complete outputs against the checksum recorded
    with their key: one changed behind luisy's back counts as not complete, so it and what
    depends on it rerun (reason: output changed outside luisy). Off by default, as it reads
    every complete output: a build with nothing to do stays a matter of keys.
    """
    if isinstance(force, str):
        force = [force]
    with use(for_build(config)) as settings, remote_for_build(settings):
        return execute_plan(plan_build(task, force=force, verify=verify), workers=workers,
                            dry_run=dry_run, hash_update_mode=hash_update_mode, progress=progress,
                            task_runner=task_runner, report_complete=report_complete,
                            group_size=group_size)


def plan_build(task: Task, force: Iterable[str] = (), verify: bool = False) -> Plan:
    """The plan of a build of ``task``: :func:`~luisy.planner.make_plan`, with the build's
    remote asked which outputs it holds when the build downloads."""
    remote = current_remote()
    available = remote.available if remote is not None and remote.downloads else None
    return make_plan(task, force=force, verify=verify, available=available)


def prepare(plan: Plan, dry_run: bool = False, hash_update_mode: bool = False,
            report_complete: bool = False) -> tuple[BuildSummary, bool]:
    """The summary of everything decided before running, and whether a flow must run: when
    a task must, or complete ones are to be shown (``report_complete``).

    Missing external data stops here; hash-update mode records keys here; a dry run ends here.
    Unless it is a dry run, what the plan found without running is recorded (folded into the
    store here when no flow runs; else at the flow's end): see :func:`record_found_keys`.
    """
    summary = BuildSummary(plan=plan, dry_run=dry_run)
    if not dry_run:
        record_found_keys(plan)
    for step in plan.steps.values():
        if step.decision is Decision.COMPLETE:
            summary.already_done.add(step.task)
        elif step.decision is Decision.NOT_NEEDED:
            summary.not_needed.add(step.task)
    missing = plan.missing_external()
    unchecked = plan.check_errors()
    if unchecked:
        summary.failed.update(unchecked)
        summary.errors.update(unchecked)
        for task in unchecked:
            logger.error("Nothing was run: %s: %s", task, plan.steps[task].reason)
    elif missing:
        summary.missing_external.update(missing)
        summary.errors.update({t: str(MissingExternalError({t: n})) for t, n in missing.items()})
        for line in MissingExternalError(missing).lines:
            logger.error("External data missing, nothing was run: %s", line)
    elif hash_update_mode:
        adopt_current_keys(plan, summary)
    elif not dry_run and (plan.to_run or (report_complete and summary.already_done)):
        return summary, True
    plan.stores.compact()
    return summary, False


def execute_plan(
    plan: Plan,
    workers: int = 1,
    *,
    dry_run: bool | None = None,
    hash_update_mode: bool | None = None,
    progress: Progress | None = None,
    task_runner: Any = None,
    report_complete: bool = False,
    group_size: int = 1,
) -> BuildSummary:
    """Carry out a plan made by :func:`~luisy.planner.make_plan` (the CLI shows it first)."""
    settings = current()
    summary, must_run = prepare(
        plan,
        settings.get_param("dry_run") if dry_run is None else dry_run,
        settings.get_param("hash_update_mode") if hash_update_mode is None
        else hash_update_mode,
        report_complete,
    )
    if must_run:
        run_flow(plan, summary, workers=workers, progress=progress, task_runner=task_runner,
                 report_complete=report_complete, group_size=group_size)
    elif summary.ok and not summary.dry_run:
        remote = current_remote()
        if remote is not None and remote.uploads:  # nothing runs: what is there, uploaded
            remote.start_uploads(plan)
            _finish_uploads(remote, summary)
    return summary


def _finish_uploads(remote: Remote, summary: BuildSummary) -> None:
    """Wait for the build's uploads; each that failed is an error of the build (its output
    is fine here, the remote does not have it)."""
    summary.uploaded, failed = remote.finish()
    for task, error in failed.items():
        summary.upload_failed[task] = error
        logger.error("luisy: upload failed: %s", error)


def record_found_keys(plan: Plan) -> None:
    """Record what the plan found without running anything:

    - the keys of external data that is there, as luisy 1.x's ``.luisy.hash`` did (1.x tools
      read them), with the data's version and what was read to get it, so the next plan
      reads only files whose size or mtime changed;
    - the new keys of outputs made before data versions (adopted: their recorded key was
      their legacy key), with their checksum and version as recorded, so nothing reruns.
    """
    for step in plan.steps.values():
        if step.store is None or step.decision is Decision.CANNOT_CHECK:
            continue
        if isinstance(step.task, ExternalTask) and step.output_exists:
            observed = step.observed or Observed(None)
            if step.store.get(step.rel_path) != step.key.key or differs(
                    step.store.details_of(step.rel_path), observed):
                step.store.record(step.record.with_details(recorded_fields(observed)))
        elif step.has(Category.ADOPTED):
            step.store.record(adopted(step.record, step.store.details_of(step.rel_path)))


def adopt_current_keys(plan: Plan, summary: BuildSummary) -> None:
    """Hash-update mode: record current keys for outputs that exist; run nothing."""
    for step in plan.steps.values():
        if step.store is not None and step.output_exists and step.decision in (
                Decision.RUN, Decision.NOT_NEEDED):
            step.store.record(as_written(step.task, step.record, step.task.output()))
            summary.adopted.add(step.task)
    plan.stores.compact()


def _runner_limit() -> float:
    """How many tasks the current flow run's task runner runs at once (inf if unbounded)."""
    from prefect.context import FlowRunContext
    from prefect.task_runners import ThreadPoolTaskRunner

    ctx = FlowRunContext.get()
    runner = getattr(ctx, "task_runner", None)
    if isinstance(runner, ThreadPoolTaskRunner):
        limit = getattr(runner, "_max_workers", None)
        if isinstance(limit, int):
            return limit
    return float("inf")


Unit = tuple[Task, ...]


class _Scheduler:
    """Submits ready tasks to Prefect, at most ``workers`` at once, and reacts to each result.

    Tasks of a class with ``group_size > 1`` that are ready together share one task run.
    """

    def __init__(self, plan: Plan, summary: BuildSummary, workers: int,
                 progress: Progress | None, report_complete: bool = False,
                 in_threads: bool = True, group_size: int = 1):
        self.plan = plan
        self.summary = summary
        self.workers = max(1, workers)
        self.group_size = max(1, group_size)
        remote = current_remote()
        self.download_group_size = remote.group_size if remote is not None else 1
        self.progress = progress or (lambda event, step, seconds: None)
        self.steps = {s.task: s for s in plan.to_run}
        #: complete tasks shown in the flow run as Cached task runs (report_complete)
        self.cached = [s for s in plan.steps.values()
                       if report_complete and s.decision is Decision.COMPLETE]
        self.waiting = {t: {d for d in s.deps if d in self.steps} for t, s in self.steps.items()}
        self.ready: collections.deque[Task] = collections.deque(
            t for t, waiting in self.waiting.items() if not waiting)
        #: the future of the task run each task is in (a group's members share one)
        self.futures: dict[Task, Any] = {}
        self.started: dict[Unit, float] = {}
        self.finished: queue.SimpleQueue = queue.SimpleQueue()
        #: scheduling state is changed by one thread at a time, in the flow run's context
        self.lock = threading.Lock()
        self.context = contextvars.copy_context()
        self.in_threads = in_threads
        self.idle = threading.Event()
        self.error: BaseException | None = None
        self.prefect_tasks: dict[tuple[type, bool], Any] = {}
        from prefect.context import FlowRunContext

        self.task_runner = FlowRunContext.get().task_runner
        self.in_flight = 0
        #: task runs submitted and not finished: ``workers``, or twice that when the task
        #: runner runs at most ``workers`` at once itself (the rest wait in its queue)
        self.window = self.workers * (2 if _runner_limit() <= self.workers else 1)
        #: luisy settings for task runs in other processes (Dask); threads share this one's
        self.config = None if in_threads else current().portable()
        #: everything downstream of a failed task, so each task is visited once
        self.cut_off: set[Task] = set()
        #: why nothing more is started (:meth:`abort`); run() raises it at the end
        self.aborted: BaseException | None = None

    def prefect_task(self, cls: type[Task], grouped: bool) -> Any:
        found = self.prefect_tasks.get((cls, grouped))
        if found is None:
            found = self.prefect_tasks[cls, grouped] = prefect_task_for(
                cls, grouped, carry=not self.in_threads)
        return found

    def submit(self, unit: Unit) -> None:
        steps = [self.plan.steps[t] for t in unit]
        self.started[unit] = time.monotonic()
        for step in steps:
            if step.task in self.steps:
                self.progress("start", step, 0.0)
        upstream = {id(f): f for s in steps for d in s.deps if (f := self.futures.get(d))}
        inputs = [[key for d in s.deps if (key := asset_key(d))] for s in steps]
        external = [[key for d in s.deps if isinstance(d, ExternalTask) and (key := asset_key(d))]
                    for s in steps]
        run_unit = RunUnit(list(unit), [s.reason for s in steps], [s.key.key for s in steps],
                           [s.record for s in steps], [s.location for s in steps],
                           steps[0].decision is Decision.COMPLETE, self.config,
                           [any(r.category in OVERRIDES for r in s.reasons) for s in steps],
                           [asset_key(t) for t in unit], inputs, external,
                           [s.decision is Decision.DOWNLOAD for s in steps])
        register(run_unit)
        prefect_task = self.prefect_task(type(unit[0]), len(unit) > 1)
        parameters = run_unit.parameters(carry=not self.in_threads)
        # the flow run's task runner, as Task.submit would: the luisy task's parameters may
        # be named like submit's own keywords (wait_for, return_state)
        if self.in_threads and upstream:
            future = self.task_runner.submit(prefect_task, parameters,
                                             *edges_only(upstream.values()))
        else:
            future = self.task_runner.submit(prefect_task, parameters, list(upstream.values()))
        for task in unit:
            self.futures[task] = future
        self.in_flight += 1
        future.add_done_callback(lambda f, u=unit: self._finished(u))

    def group_size_of(self, cls: type[Task]) -> int:
        return cls.group_size if cls.group_size > 1 else self.group_size

    def next_unit(self) -> Unit:
        """The next task run's tasks: the first ready task, and ready tasks of its class that
        share a task run with it. Downloads are grouped with downloads only (the remote's
        ``group_size``, as they run no code of the task), runs with runs."""
        first = self.ready.popleft()
        downloads = self.steps[first].decision is Decision.DOWNLOAD
        size = self.download_group_size if downloads else self.group_size_of(type(first))
        if size == 1:
            return (first,)
        unit, rest = [first], collections.deque()
        while self.ready and len(unit) < size:
            task = self.ready.popleft()
            same = type(task) is type(first) and (
                self.steps[task].decision is Decision.DOWNLOAD) == downloads
            (unit if same else rest).append(task)
        self.ready.extendleft(reversed(rest))
        return tuple(unit)

    def pump(self) -> None:
        while self.ready and self.in_flight < self.window and self.aborted is None:
            self.submit(self.next_unit())

    def abort(self, error: BaseException) -> None:
        """Start nothing more; the task runs in flight finish (their outputs are committed),
        then :meth:`run` raises ``error``. Called from any thread."""
        with self.lock:
            self.aborted = error
            if not self.in_flight:
                self.idle.set()

    def on_finished(self, unit: Unit) -> None:
        seconds = time.monotonic() - self.started[unit]
        future = self.futures[unit[0]]
        future.wait()
        state = future.state
        failed: dict[str, str] = {}
        if not state.is_completed():
            error = _raised(state)
            failed = (error.failed if isinstance(error, GroupFailed)
                      else {str(t): f"{type(error).__name__}: {error}" if error is not None
                            else state.message or state.name for t in unit})
        elsewhere = state.message == ELSEWHERE
        for task in unit:
            if str(task) in failed:
                self.on_failed(task, failed[str(task)], seconds)
            else:
                self.on_done(task, seconds, elsewhere)

    def on_done(self, task: Task, seconds: float, elsewhere: bool = False) -> None:
        step = self.steps[task]
        # its key was recorded by the task run itself, with the write
        done = (self.summary.already_done if elsewhere else self.summary.downloaded
                if step.decision is Decision.DOWNLOAD else self.summary.completed)
        done.add(task)
        self.progress("done", step, seconds)
        for parent in self.plan.graph.dependents.get(task, ()):
            pending = self.waiting.get(parent)
            if pending is None or task not in pending:
                continue
            pending.discard(task)
            if not pending and parent not in self.summary.upstream_failed:
                self.ready.append(parent)

    def on_failed(self, task: Task, error: str, seconds: float) -> None:
        self.summary.failed.add(task)
        self.summary.errors[task] = error
        self.progress("failed", self.steps[task], seconds)
        for down in self.plan.graph.downstream(task, self.cut_off):
            if down in self.steps and down not in self.summary.upstream_failed:
                self.summary.upstream_failed.add(down)
                self.progress("upstream failed", self.steps[down], 0.0)

    def run(self) -> None:
        """Submit, then react to every result until nothing is in flight.

        With a thread pool, results are handled in the worker thread that produced them, right
        away (:meth:`_drain`): the next task is submitted without waking this thread first, so
        a chain of tasks hands over as fast as Prefect's own ``wait_for`` would. Other task
        runners (Dask: callbacks on its client's event loop) are driven from this thread.
        """
        with self.lock:
            for step in self.cached:  # already final: they hold no worker for long
                self.submit((step.task,))
            self.pump()
            if not self.in_flight:
                self.idle.set()
        if self.in_threads:
            self._drain()
            self.idle.wait()
        else:
            while not self.idle.is_set():
                self._handle(self.finished.get())
        if self.error is not None:
            raise self.error
        if self.aborted is not None:
            raise self.aborted
        if self.summary.failed:
            raise BuildFailed(str(self.summary))

    def _finished(self, unit: Unit) -> None:
        """A task run's future is done (called in the thread that finished it)."""
        self.finished.put(unit)
        if self.in_threads:
            self._drain()

    def _drain(self) -> None:
        """Handle every finished unit, in whichever thread gets the lock; a thread that does
        not get it leaves its unit to the holder, who looks again after letting go."""
        while not self.finished.empty():
            if not self.lock.acquire(blocking=False):
                return
            try:
                while True:
                    try:
                        unit = self.finished.get_nowait()
                    except queue.Empty:
                        break
                    self.context.run(self._handle, unit)
            finally:
                self.lock.release()

    def _handle(self, unit: Unit) -> None:
        if self.error is not None:
            return
        try:
            self.in_flight -= 1
            if unit[0] in self.steps:  # not a Cached report
                self.on_finished(unit)
            self.pump()
        except BaseException as exc:  # raised again by run(), in the flow run's thread
            self.error = exc
            self.idle.set()
        if self.in_flight == 0:
            self.idle.set()


#: the ``wait_for`` of a task run whose upstream runs are done: one plain value, which Prefect
#: resolves at once; it makes Prefect keep a ``wait_for`` entry in the run's inputs
_NOTHING_TO_WAIT_FOR = (None,)


def edges_only(upstream: Iterable[Any]) -> tuple[tuple[None], dict[str, set[Any]]]:
    """``wait_for`` and ``dependencies`` for ``TaskRunner.submit`` of a task run whose
    upstream task runs (their futures) are done: the server records the same edges as for
    ``wait_for=upstream``, without the wait.

    Prefect resolves each future of ``wait_for`` to its result before the run starts, a hop
    to its event loop thread per future, which buys nothing when the scheduler submits a task
    only once its upstreams are done. Measured (bench/README.md): the worker's CPU in that
    step went from ~0.2 ms to ~0.04 ms per task run with one upstream; a chain of 200 and
    the 500 reruns of the DAG after an edit took 0.89-0.92x the time. Used with the thread pool;
    other task runners (Dask) get the futures as ``wait_for``.
    """
    from prefect.client.schemas.objects import TaskRunResult

    return _NOTHING_TO_WAIT_FOR, {"wait_for": {TaskRunResult(id=f.task_run_id)
                                               for f in upstream}}


def _raised(state: Any) -> BaseException | None:
    """What the task run's function raised (None: it was not an exception, or the state no
    longer holds it), for a summary line in the task's own words, not Prefect's wording."""
    if not state.is_failed():
        return None
    try:
        error = state.result(raise_on_failure=False)
    except Exception:  # a result that cannot be read back: the state's message says enough
        return None
    return error if isinstance(error, BaseException) else None


def run_in_current_flow(plan: Plan, summary: BuildSummary, workers: int = 1,
                        progress: Progress | None = None, report_complete: bool = False,
                        group_size: int = 1, publisher: Publisher | None = None) -> None:
    """Run the plan's steps as task runs of the flow run this is called in, and publish its
    artifacts: sent while the tasks run, and waited for before this returns, unless the
    caller gives the ``publisher`` and waits for it itself (:func:`run_flow`, after the flow
    run: the outputs table, sent at the end, then overlaps Prefect's last calls of the run).

    The Prefect server is watched meanwhile (:mod:`luisy.server_watch`): when it stops
    answering, nothing more starts, ``summary.server_lost`` says so, and no more artifacts
    are sent.
    """
    from prefect.context import FlowRunContext
    from prefect.task_runners import ThreadPoolTaskRunner

    from luisy.artifacts import Publisher, publish_outputs, publish_plan

    ctx = FlowRunContext.get()
    summary.flow_run_id = ctx.flow_run.id if ctx and ctx.flow_run else None
    unfinished = _record_the_run(summary.flow_run_id)
    waits = publisher is None
    publisher = publisher or Publisher()
    publisher.submit(publish_plan, plan)
    ledger = Ledger(plan.stores)
    in_threads = isinstance(ctx.task_runner, ThreadPoolTaskRunner)
    if in_threads:
        _no_nested_submit_warning(ctx.task_runner)
    remote = current_remote()
    if remote is not None:
        if not in_threads:
            raise RemoteError("download/upload: cloud sync runs with the default (thread) "
                              f"task runner, not {type(ctx.task_runner).__name__}")
        remote.start_downloads(plan, current().working_dir)
        if remote.uploads:
            remote.start_uploads(plan)
    try:
        with build_context(ledger):
            scheduler = _Scheduler(plan, summary, workers, progress, report_complete,
                                   in_threads, group_size)
            with _watching_the_server(scheduler, summary):
                scheduler.run()
    finally:
        ledger.compact()
        if remote is not None:
            _finish_uploads(remote, summary)
        if summary.server_lost is None:
            publisher.submit(publish_outputs, plan, summary)
        if waits:
            publisher.wait()
        if unfinished and summary.server_lost is None:
            forget(unfinished)


def _record_the_run(flow_run_id: Any) -> str | None:
    """Settle the flow runs killed builds left running, then record this one till it ends
    (:mod:`luisy.unfinished_runs`); the path of its record (None: no working dir or API)."""
    from prefect.settings import PREFECT_API_URL

    working_dir, api_url = current().get_param("working_dir"), PREFECT_API_URL.value()
    if not (working_dir and api_url and flow_run_id and os.path.isdir(working_dir)):
        return None
    mark_crashed(working_dir, api_url)
    return record(working_dir, flow_run_id, api_url)


@contextlib.contextmanager
def _watching_the_server(scheduler: _Scheduler, summary: BuildSummary) -> Iterator[None]:
    """While the build runs, a lost Prefect server stops it (:mod:`luisy.server_watch`)."""
    from luisy.server_watch import watching

    def lost(message: str) -> None:
        summary.server_lost = message
        scheduler.abort(PrefectServerError(message))

    with watching() as watch:
        if watch is not None:
            watch.on_lost(lost)
        yield


def _no_nested_submit_warning(runner: Any) -> None:
    """Keep Prefect's thread pool from warning that a task submitted from one of its workers
    may deadlock (prefect#17060): the scheduler submits the next task from the worker thread
    that just finished one (for latency), and no luisy task run waits on another, so the
    warning would be wrong, on every user's console. Set on this flow run's runner only."""
    if hasattr(runner, "_nested_submit_warning_emitted"):
        runner._nested_submit_warning_emitted = True


#: builds in progress by id. The flow function looks its plan up here instead of closing over
#: it: Prefect pickles the flow with every task it submits to a Dask task runner.
_BUILDS: dict[str, tuple] = {}


def _run_build(build: str) -> Any:
    """What the flow function of ``build()`` does. A failed build ends its flow run Failed
    with the summary as its message, returned as a state, not raised: raised, Prefect would
    log it again with a traceback of luisy's scheduler, after the failed task's own."""
    plan, summary, workers, progress, report_complete, group_size, publisher = _BUILDS[build]
    try:
        run_in_current_flow(plan, summary, workers, progress, report_complete,
                            group_size=group_size, publisher=publisher)
    except BuildFailed as exc:  # (a lost server is raised: no state could reach it)
        from prefect.states import Failed

        return Failed(message=str(exc))
    return None


def _flow_function(build: str) -> Callable[[], Any]:
    """The flow function of one ``build()``: no parameters, the build's id in its closure.

    A flow with parameters costs Prefect their JSON schema when the flow is made and their
    serialisation when its run is created, which imports FastAPI's encoders: ~0.1-0.15 s in
    the first build of a process, ~6 % of a 200-task chain (bench/README.md). A build's id
    is nothing a user wants to see among the flow run's parameters anyway.
    """
    def luisy_build() -> Any:
        return _run_build(build)

    return luisy_build


def run_flow(plan: Plan, summary: BuildSummary, workers: int = 1,
             progress: Progress | None = None, task_runner: Any = None,
             report_complete: bool = False, group_size: int = 1) -> None:
    """Run the plan's ``run`` steps as one Prefect flow run named after the root task.

    The flow run's API client is opened here, around the run, so that it outlives it: the
    artifacts still being sent when the flow function returns (the outputs table, which
    waits on a server busy recording the last task runs) go out while Prefect makes the
    run's own last calls, and are waited for after them.
    """
    from prefect import flow
    from prefect.context import SyncClientContext
    from prefect.task_runners import ThreadPoolTaskRunner

    from luisy.artifacts import Publisher

    root = plan.root
    build_id = uuid.uuid4().hex
    publisher = Publisher()
    _BUILDS[build_id] = (plan, summary, workers, progress, report_complete, group_size,
                         publisher)

    runner_flow = flow(
        _flow_function(build_id),
        name=root.get_flow_name(),
        flow_run_name=lambda: str(root),
        task_runner=task_runner or ThreadPoolTaskRunner(max_workers=max(1, workers)),
        persist_result=False,
        validate_parameters=False,
        log_prints=False,  # the scheduler's progress lines go to the terminal, not the logs
    )
    from luisy.server_watch import abandon_reports, own_client_settings, watching

    try:
        # watched from before the flow run starts until after its last API call
        with own_client_settings(), watching(), SyncClientContext.get_or_create():
            try:
                state = runner_flow(return_state=True)
            finally:
                publisher.wait()
    except Exception:
        if summary.server_lost is None:
            raise
        state = None  # the flow run's last calls to the lost server failed: said below
    finally:
        del _BUILDS[build_id]
    if summary.server_lost is not None:
        dropped = abandon_reports()
        logger.error("luisy: %s (%d events and logs for it dropped)", summary.server_lost,
                     dropped, extra={REPEATS_SUMMARY: True})
    elif not state.is_completed() and not summary.failed:
        # the flow itself crashed (not a task): the build did not happen
        summary.flow_error = f"flow run {state.name}: {state.message}"
