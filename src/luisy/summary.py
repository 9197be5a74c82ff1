"""What a build did, by task: the return value of ``build`` and what the CLI reports."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from luisy.planner import Decision, Plan
from luisy.tasks.base import Task

#: the keys of luisy 1.x's (luigi's) execution summary, in its order
SUMMARY_KEYS = (
    "completed", "already_done", "ever_failed", "failed", "scheduling_error",
    "still_pending_ext", "still_pending_not_ext", "run_by_other_worker", "upstream_failure",
    "upstream_missing_dependency", "upstream_run_by_other_worker",
    "upstream_scheduling_error", "not_run",
)


@dataclass
class BuildSummary:
    plan: Plan
    completed: set[Task] = field(default_factory=set)
    already_done: set[Task] = field(default_factory=set)
    failed: set[Task] = field(default_factory=set)
    upstream_failed: set[Task] = field(default_factory=set)
    missing_external: set[Task] = field(default_factory=set)
    not_needed: set[Task] = field(default_factory=set)
    adopted: set[Task] = field(default_factory=set)
    #: fetched from the remote instead of run; outputs sent to it (see luisy.remote)
    downloaded: set[Task] = field(default_factory=set)
    uploaded: set[Task] = field(default_factory=set)
    #: outputs that could not be sent to the remote (made fine here): task -> error
    upload_failed: dict[Task, str] = field(default_factory=dict)
    errors: dict[Task, str] = field(default_factory=dict)
    flow_run_id: Any = None
    #: set when the flow run itself failed or crashed, apart from any task
    flow_error: str | None = None
    #: set when the Prefect server stopped answering mid-build: the line that says so
    server_lost: str | None = None
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not (self.failed or self.upstream_failed or self.missing_external
                    or self.upload_failed or self.flow_error or self.server_lost)

    def as_dict(self) -> dict[str, set[Task]]:
        return {
            "completed": self.completed, "already_done": self.already_done,
            "failed": self.failed, "upstream_failed": self.upstream_failed,
            "missing_external": self.missing_external, "not_needed": self.not_needed,
            "downloaded": self.downloaded, "uploaded": self.uploaded,
        }

    def __getitem__(self, name: str) -> set[Task]:
        return self.as_dict()[name]

    @property
    def tasks_set(self) -> dict[str, set[Task]]:
        """luisy 1.x's ``build(...).tasks_set``: sets of tasks under luigi's summary keys."""
        return execution_summary(self.plan, self)

    def __str__(self) -> str:
        parts = [f"{len(v)} {k.replace('_', ' ')}" for k, v in self.as_dict().items() if v]
        text = ", ".join(parts) or "nothing to do"
        if self.server_lost:
            text += f"\n  STOPPED: {self.server_lost}"
        elif self.flow_error:
            text += f"\n  FLOW FAILED: {self.flow_error}"
        for task, error in self.errors.items():
            text += f"\n  FAILED {task}: {error}"
        for error in self.upload_failed.values():  # each names its task
            text += f"\n  NOT UPLOADED {error}"
        return text


def execution_summary(plan: Plan, build: BuildSummary) -> dict[str, set[Task]]:
    """luisy 1.x's execution summary (luigi's keys) of a build.

    As with luigi, ``already_done`` holds the complete tasks a build reached, not those below
    them. luisy stops before running anything when external data is missing, so the tasks
    that would have run are ``upstream_missing_dependency`` (they need the missing data) or
    ``still_pending_not_ext`` (independent of it).
    """
    summary: dict[str, set[Task]] = {key: set() for key in SUMMARY_KEYS}
    reached = _reached(plan)
    summary["completed"] = set(build.completed)
    summary["already_done"] = {t for t in reached
                               if plan.steps[t].decision is Decision.COMPLETE}
    summary["failed"] = set(build.failed)
    summary["ever_failed"] = set(build.failed)
    summary["upstream_failure"] = set(build.upstream_failed)
    missing = set(build.missing_external)
    summary["still_pending_ext"] = missing
    if missing:
        waiting = {s.task for s in plan.to_run}
        needs_missing = set().union(*(plan.graph.downstream(m) for m in missing)) & waiting
        summary["upstream_missing_dependency"] = needs_missing
        summary["still_pending_not_ext"] = waiting - needs_missing
    return summary


def _reached(plan: Plan) -> set[Task]:
    """Tasks a luigi-style walk from the root visits: it does not look below complete tasks."""
    graph = plan.graph
    seen = {graph.root}
    stack = [graph.root]
    while stack:
        task = stack.pop()
        if plan.steps[task].decision is Decision.COMPLETE:
            continue
        for dep in graph.deps[task]:
            if dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return seen
