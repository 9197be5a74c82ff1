"""What a build did, by task: the return value of ``build`` and what the CLI reports."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from luisy.planner import Plan
    from luisy.tasks.base import Task


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
    errors: dict[Task, str] = field(default_factory=dict)
    flow_run_id: Any = None
    #: set when the flow run itself failed or crashed, apart from any task
    flow_error: str | None = None
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not (self.failed or self.upstream_failed or self.missing_external
                    or self.flow_error)

    def as_dict(self) -> dict[str, set[Task]]:
        return {
            "completed": self.completed, "already_done": self.already_done,
            "failed": self.failed, "upstream_failed": self.upstream_failed,
            "missing_external": self.missing_external, "not_needed": self.not_needed,
        }

    def __getitem__(self, name: str) -> set[Task]:
        return self.as_dict()[name]

    def __str__(self) -> str:
        parts = [f"{len(v)} {k.replace('_', ' ')}" for k, v in self.as_dict().items() if v]
        text = ", ".join(parts) or "nothing to do"
        if self.flow_error:
            text += f"\n  FLOW FAILED: {self.flow_error}"
        for task, error in self.errors.items():
            text += f"\n  FAILED {task}: {error}"
        return text
