"""The plan: for every task of the graph, what happens and why.

Decisions are made from keys, not data, so the whole plan is known before anything runs:

- ``run``: no output, or the recorded key differs from the current one (the reason says which
  code, library, parameter or upstream changed);
- ``complete``: the output exists and its recorded key equals the current key;
- ``missing external``: an ExternalTask's data is absent (the build stops before running);
- ``not needed``: its output is missing or outdated but every task that needs it is complete,
  so it is left alone, as luigi would.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from luisy.fingerprint import Fingerprint, fingerprint
from luisy.graph import TaskGraph, build_graph
from luisy.hashstore import HashStore, HashStores
from luisy.heap import collections_paused
from luisy.keys import TaskKey, compute_key, store_location
from luisy.tasks.base import ExternalTask, Task, WrapperTask


class Decision(str, enum.Enum):
    RUN = "run"
    COMPLETE = "complete"
    MISSING_EXTERNAL = "missing external"
    NOT_NEEDED = "not needed"


@dataclass
class Step:
    task: Task
    decision: Decision
    reason: str
    key: TaskKey
    deps: list[Task]
    location: str
    store: HashStore | None = field(default=None, repr=False)
    rel_path: str | None = None
    output_exists: bool = False


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
        return self.by_decision(Decision.RUN)

    def missing_external(self) -> dict[Task, list[Task]]:
        return {
            s.task: [t for t in self.graph.dependents.get(s.task, [])
                     if self.steps[t].decision is Decision.RUN]
            for s in self.by_decision(Decision.MISSING_EXTERNAL)
        }

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


def _changes(previous: dict | None, key: TaskKey, steps: dict[Task, Step]) -> str:
    """Why a recorded key differs from the current one, most specific cause first."""
    if previous is None:
        return "no recorded key"
    reasons = []
    old_code = previous.get("code", {})
    new_code = key.fingerprint.code
    changed = sorted(u for u in set(old_code) | set(new_code) if old_code.get(u) != new_code.get(u))
    if changed:
        shown = [u.removeprefix("module:").removeprefix("const:") for u in changed[:3]]
        more = f" (+{len(changed) - 3} more)" if len(changed) > 3 else ""
        reasons.append(f"code changed: {', '.join(shown)}{more}")
    old_libs = previous.get("libraries", {})
    for dist in sorted(set(old_libs) | set(key.fingerprint.libraries)):
        before, after = old_libs.get(dist), key.fingerprint.libraries.get(dist)
        if before != after:
            reasons.append(f"library changed: {dist} {before or '(none)'} -> {after or '(none)'}")
    if previous.get("params", key.params) != key.params:
        reasons.append("new parameters")
    old_up = previous.get("upstream", {})
    ups = [tid for tid, k in key.upstream.items() if old_up.get(tid) != k]
    if ups:
        reasons.append(f"upstream changed: {', '.join(ups[:3])}"
                       + (f" (+{len(ups) - 3} more)" if len(ups) > 3 else ""))
    return "; ".join(reasons) or "key changed"


def make_plan(root: Task, stores: HashStores | None = None) -> Plan:
    """Decide every task of the graph below ``root``; nothing is run or written."""
    with collections_paused():
        graph = build_graph(root)
        stores = stores or HashStores()
        fps: dict[type, Fingerprint] = {}
        steps: dict[Task, Step] = {}
        for task, deps in graph.deps.items():
            cls = type(task)
            fp = fps.get(cls) or fps.setdefault(cls, fingerprint(cls))
            key = compute_key(task, fp, {str(d): steps[d].key.key for d in deps})
            steps[task] = _decide(task, key, deps, steps, stores)
        _prune_not_needed(graph, steps)
        return Plan(root, graph, steps, stores)


def _decide(task: Task, key: TaskKey, deps: list[Task], steps: dict[Task, Step],
            stores: HashStores) -> Step:
    where = store_location(task, stores)
    store, rel = where if where else (None, None)
    location = task.output_location()
    step = Step(task, Decision.COMPLETE, "", key, deps, location, store, rel)
    if isinstance(task, WrapperTask):
        pending = [d for d in deps if steps[d].decision is not Decision.COMPLETE]
        if pending:
            step.decision, step.reason = Decision.RUN, f"waits for {pending[0]}"
        else:
            step.reason = "all wrapped tasks complete"
        return step
    step.output_exists = task.output().exists()
    if isinstance(task, ExternalTask):
        if step.output_exists:
            step.reason = "external data present"
        else:
            step.decision, step.reason = Decision.MISSING_EXTERNAL, f"no data at {location}"
        return step
    if not step.output_exists:
        step.decision, step.reason = Decision.RUN, "no output"
    elif store.get(rel) == key.key:
        step.reason = "up to date"
    else:
        step.decision = Decision.RUN
        step.reason = _changes(store.details_of(rel) if store.get(rel) else None, key, steps)
    return step


def _prune_not_needed(graph: TaskGraph, steps: dict[Task, Step]) -> None:
    """Only tasks that something about to run needs are run (or reported missing)."""
    needed = {graph.root}
    for task in reversed(list(graph)):
        step = steps[task]
        if task in needed:
            if step.decision is Decision.RUN:
                needed.update(step.deps)
            continue
        if step.decision in (Decision.RUN, Decision.MISSING_EXTERNAL):
            users = [str(t) for t in graph.dependents.get(task, [])]
            step.decision = Decision.NOT_NEEDED
            step.reason = f"{step.reason}, but {users[0] if users else 'its user'} is complete"


def is_complete(task: Task) -> bool:
    """Output exists and its recorded key equals the current key (used by ``Task.read``)."""
    step = make_plan(task).steps[task]
    return step.decision is Decision.COMPLETE
