"""The plan: for every task of the graph, what happens and why.

Decisions are made from keys, not data, so the whole plan is known before anything runs:

- ``run``: no output, or the recorded key differs from the current one (the reason says which
  code, library, parameter, upstream or input data changed);
- ``complete``: the output exists and its recorded key equals the current key (with
  ``verify``, also its bytes match the checksum recorded with that key: if not, it reruns
  and so does what depends on it); or its recorded key is the one luisy gave it before data
  versions: it is adopted, its new key recorded, nothing rebuilt;
- ``missing external``: an ExternalTask's data is absent (the build stops before running);
- ``cannot check``: asking whether the output exists failed (a Spark engine without Delta
  Lake, a catalog that is not there): the error names the task, the build stops before running;
- ``download`` (with ``download`` on and a remote, see :mod:`luisy.remote`): it would run,
  but the remote holds its output with its current key: the output is fetched instead of
  computed (what it needs is then not needed, unless something else needs it);
- ``not needed``: its output is missing or outdated but every task that needs it is complete,
  so it is left alone, as luigi would.

A graph in which two tasks have one output, or a task's file is outside the working dir, is
refused while planning (:class:`~luisy.errors.OutputPathError`): nothing is decided or run.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from luisy.cache import (
    OVERRIDES,
    Category,
    HashStores,
    KeyChain,
    KeyStore,
    Observed,
    Reason,
    Record,
    TaskKey,
    content_change,
    data_of,
    describe,
    explain,
    output_version,
    predates_data_versions,
    record_of,
)
from luisy.errors import LuisyError, OutputPathError, UsageError
from luisy.graph import TaskGraph, build_graph
from luisy.targets.base import Target
from luisy.targets.local import resolved_path
from luisy.tasks.base import ExternalTask, Task, WrapperTask


class Decision(str, enum.Enum):
    RUN = "run"
    DOWNLOAD = "download"
    COMPLETE = "complete"
    MISSING_EXTERNAL = "missing external"
    CANNOT_CHECK = "cannot check"
    NOT_NEEDED = "not needed"


@dataclass
class Step:
    task: Task
    decision: Decision
    #: why, as data (see :mod:`luisy.cache.causes`); :attr:`reason` is how it reads
    reasons: tuple[Reason, ...]
    key: TaskKey
    deps: list[Task]
    location: str
    #: what recording this output's key writes, and where (None: no output)
    record: Record | None = field(default=None, repr=False)
    store: KeyStore | None = field(default=None, repr=False)
    output_exists: bool = False
    #: what the output stands for in its consumers' keys besides its key (data versions)
    observed: Observed | None = field(default=None, repr=False)
    target: Target | None = field(default=None, repr=False)

    @property
    def reason(self) -> str:
        return describe(self.reasons)

    @property
    def rel_path(self) -> str | None:
        return self.record.rel_path if self.record else None

    def has(self, category: Category) -> bool:
        return any(r.category is category for r in self.reasons)


@dataclass
class Plan:
    root: Task
    graph: TaskGraph
    steps: dict[Task, Step]
    stores: HashStores

    def by_decision(self, decision: Decision) -> list[Step]:
        return [s for s in self.steps.values() if s.decision is decision]

    @property
    def to_run(self) -> list[Step]:
        """The steps the build's flow carries out: runs and downloads."""
        return [s for s in self.steps.values()
                if s.decision in (Decision.RUN, Decision.DOWNLOAD)]

    def missing_external(self) -> dict[Task, list[Task]]:
        return {
            s.task: [t for t in self.graph.dependents.get(s.task, [])
                     if self.steps[t].decision is Decision.RUN]
            for s in self.by_decision(Decision.MISSING_EXTERNAL)
        }

    def check_errors(self) -> dict[Task, str]:
        """Why, for every needed task whose output could not be checked."""
        return {s.task: s.reasons[0].names[0] for s in self.by_decision(Decision.CANNOT_CHECK)}

    def counts(self) -> dict[str, int]:
        return {d.value: len(self.by_decision(d)) for d in Decision}

    def format(self, show_complete: bool = True) -> str:
        """A readable table for the CLI: one line per task, its decision and reason."""
        rows = [s for s in self.steps.values()
                if show_complete or s.decision is not Decision.COMPLETE]
        width = min(max((len(str(s.task)) for s in rows), default=10), 70)
        lines = [f"{'TASK':<{width}}  {'DECISION':<16}  REASON"]
        for s in rows:
            name = str(s.task)
            name = name if len(name) <= width else name[: width - 1] + "…"
            lines.append(f"{name:<{width}}  {s.decision.value:<16}  {s.reason}")
        counts = ", ".join(f"{n} {d}" for d, n in self.counts().items() if n)
        lines.append(f"-- {len(self.steps)} tasks: {counts}")
        return "\n".join(lines)


#: ``available(step)``: where the remote holds the step's output with its key (None: not there)
Available = Callable[[Step], "str | None"]


def make_plan(root: Task, stores: HashStores | None = None,
              force: Iterable[str] = (), verify: bool = False,
              available: Available | None = None) -> Plan:
    """Decide every task of the graph below ``root``; nothing is run or written.

    ``force`` names tasks to rerun although they are complete (a class name, a task as it
    prints, e.g. ``Interim(month=2024-01)``, or ``all``); what depends on them reruns too.
    ``verify`` reads every complete output to compare its bytes with the checksum recorded
    with its key (else nothing but keys is looked at): changed ones rerun, with their users.
    ``available`` (the remote's, for ``download``) turns a step that would run into a
    download where the remote has its output with its current key.
    """
    graph = build_graph(root)
    stores = stores or HashStores()
    chain = KeyChain()
    outputs: dict[Task, Observed] = {}
    forced = _forced_tasks(graph, force)
    below_forced: set[Task] = set()
    for task in forced:
        below_forced.update(graph.downstream(task))
    steps: dict[Task, Step] = {}
    owners: dict[str, Task] = {}
    changed: set[Task] = set()
    for task, deps in graph.deps.items():
        _claim_output(task, owners)
        try:
            data, failed = data_of(task, deps, outputs), None
        except LuisyError as exc:  # names the task or table; the plan names the task
            data, failed = {}, exc
        chain.add(task, deps, data)
        step = steps[task] = _decide(task, chain, deps, steps, stores)
        if failed is not None and step.decision is not Decision.CANNOT_CHECK:
            _cannot_check(step, failed, Category.INPUT_CHECK_FAILED)
        outputs[task] = _observe_output(step)
        if verify:
            _apply_changed(steps[task], changed)
        if task in forced or task in below_forced:
            _apply_force(steps[task], forced, below_forced)
        if available is not None:
            _apply_download(step, available)
    _prune_not_needed(graph, steps)
    return Plan(root, graph, steps, stores)


def _claim_output(task: Task, owners: dict[str, Task]) -> None:
    """Refuse a second task whose output resolves to the path of one planned before (in
    ``owners``, resolved path -> task): each would overwrite the other's output and the key
    recorded for it. ExternalTasks may share data (two readers of one folder): neither
    writes it."""
    out = task.output()
    if out is None:
        return
    first = owners.setdefault(resolved_path(out.path), task)
    if first is not task and not (isinstance(first, ExternalTask)
                                  and isinstance(task, ExternalTask)):
        raise OutputPathError(f"{first} and {task} have the same output {out.location}; "
                              "give them different file names (get_file_name, get_sub_dir "
                              "or parameters) so that neither overwrites the other")


def _forced_tasks(graph: TaskGraph, force: Iterable[str]) -> set[Task]:
    names = set(force)
    if not names:
        return set()
    runnable = [t for t in graph.deps if not isinstance(t, (ExternalTask, WrapperTask))]
    if "all" in names:
        return set(runnable)
    chosen = {t for t in runnable if type(t).__name__ in names or str(t) in names}
    unknown = names - {type(t).__name__ for t in chosen} - {str(t) for t in chosen}
    if unknown:
        raise UsageError(f"force: {', '.join(sorted(unknown))} is no task (to run) below "
                         f"{graph.root}; name a task class, a task as it prints, or 'all'")
    return chosen


def _apply_force(step: Step, forced: set[Task], below_forced: set[Task]) -> None:
    """Rerun a forced task, and whatever depends on one, though complete."""
    if isinstance(step.task, (ExternalTask, WrapperTask)) or (
            step.decision is not Decision.COMPLETE):
        return
    step.decision = Decision.RUN
    if step.task in forced:
        step.reasons = (Reason(Category.FORCED),)
        return
    upstream = next(d for d in step.deps if d in forced or d in below_forced)
    step.reasons = (Reason(Category.FORCED_UPSTREAM, (str(upstream),)),)


def _apply_changed(step: Step, changed: set[Task]) -> None:
    """Rerun a complete task whose bytes differ from the checksum recorded with its key, and
    one that needs such a task (its input was not what its key says); both join ``changed``.
    Steps come dependencies first, so a wrapper decided later sees them run."""
    if step.decision is not Decision.COMPLETE or isinstance(step.task, (ExternalTask,
                                                                        WrapperTask)):
        return
    upstream = next((d for d in step.deps if d in changed), None)
    if upstream is not None:
        step.reasons = (Reason(Category.CHANGED_UPSTREAM, (str(upstream),)),)
    elif content_change(step.task.output(), step.store.details_of(step.rel_path)):
        step.reasons = (Reason(Category.CHANGED_OUTPUT, (step.location,)),)
    else:
        return
    step.decision = Decision.RUN
    changed.add(step.task)


def _apply_download(step: Step, available: Available) -> None:
    """A step that would run is downloaded where the remote holds its current key (forced
    ones, and those whose bytes changed outside luisy, run: that is what was asked)."""
    if step.decision is not Decision.RUN or step.record is None or isinstance(
            step.task, (ExternalTask, WrapperTask)) or any(
            r.category in OVERRIDES for r in step.reasons):
        return
    where = available(step)
    if where is not None:
        step.decision = Decision.DOWNLOAD
        step.reasons = (*step.reasons, Reason(Category.ON_REMOTE, (where,)))


def _cannot_check(step: Step, exc: LuisyError,
                  category: Category = Category.CHECK_FAILED) -> None:
    step.decision = Decision.CANNOT_CHECK
    step.reasons = (Reason(category, (str(exc),)),)


def _observe_output(step: Step) -> Observed | None:
    """What the step's output stands for in its consumers' keys (see ``output_version``);
    a version that cannot be had makes the step ``cannot check``."""
    if step.record is None or step.decision is Decision.CANNOT_CHECK or (
            isinstance(step.task, ExternalTask) and not step.output_exists):
        return None
    try:
        step.observed = output_version(
            step.task, step.target, lambda: step.store.details_of(step.rel_path),
            lambda: step.decision is Decision.COMPLETE)
    except LuisyError as exc:
        _cannot_check(step, exc)
    return step.observed


def _decide(task: Task, chain: KeyChain, deps: list[Task], steps: dict[Task, Step],
            stores: HashStores) -> Step:
    key = chain.keys[task]
    record = record_of(task, key)
    store = stores.for_folder(record.folder) if record else None
    target = task.output()
    location = target.location if target is not None else "(no output)"
    step = Step(task, Decision.COMPLETE, (), key, deps, location, record, store, target=target)
    if isinstance(task, WrapperTask):
        pending = [d for d in deps if steps[d].decision is not Decision.COMPLETE]
        if pending:
            step.decision = Decision.RUN
            step.reasons = (Reason(Category.WAITS_FOR, (str(pending[0]),)),)
        else:
            step.reasons = (Reason(Category.WRAPPED_COMPLETE),)
        return step
    try:
        step.output_exists = target.exists()
    except LuisyError as exc:  # the target names itself and the cause; the plan, the task
        _cannot_check(step, exc)
        return step
    if isinstance(task, ExternalTask):
        if step.output_exists:
            step.reasons = (Reason(Category.EXTERNAL_PRESENT),)
        else:
            step.decision = Decision.MISSING_EXTERNAL
            step.reasons = (Reason(Category.EXTERNAL_MISSING, (location,)),)
        return step
    recorded = store.get(record.rel_path)
    if not step.output_exists:
        step.decision, step.reasons = Decision.RUN, (Reason(Category.NO_OUTPUT),)
    elif recorded == key.key:
        step.reasons = (Reason(Category.UP_TO_DATE),)
    elif recorded == chain.legacy(task) and predates_data_versions(
            store.details_of(record.rel_path)):
        step.reasons = (Reason(Category.ADOPTED),)  # made from the data there now
    else:
        step.decision = Decision.RUN
        previous = store.details_of(record.rel_path) if recorded else None
        step.reasons = explain(previous, key)
    return step


def _not_needed_note(users: list[Task], steps: dict[Task, Step]) -> Reason:
    """Why a task that would run is not needed: a user of it is downloaded, or complete, or
    not needed itself (then for that user's reason: users are pruned first)."""
    for decision, category in ((Decision.DOWNLOAD, Category.NOT_NEEDED_DOWNLOADED),
                               (Decision.COMPLETE, Category.NOT_NEEDED)):
        for user in users:
            if steps[user].decision is decision:
                return Reason(category, (str(user),))
    for user in users:
        if steps[user].decision is Decision.NOT_NEEDED:
            return steps[user].reasons[-1]
    return Reason(Category.NOT_NEEDED, (str(users[0]) if users else "its user",))


def _prune_not_needed(graph: TaskGraph, steps: dict[Task, Step]) -> None:
    """Only tasks that something about to run needs are run (or reported missing)."""
    needed = {graph.root}
    for task in reversed(list(graph)):
        step = steps[task]
        if task in needed:
            if step.decision in (Decision.RUN, Decision.CANNOT_CHECK):
                needed.update(step.deps)
            continue
        if step.decision in (Decision.RUN, Decision.DOWNLOAD, Decision.MISSING_EXTERNAL,
                             Decision.CANNOT_CHECK):
            note = _not_needed_note(graph.dependents.get(task, []), steps)
            step.decision = Decision.NOT_NEEDED
            step.reasons = (*(r for r in step.reasons if r.category is not Category.ON_REMOTE),
                            note)
