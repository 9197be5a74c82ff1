"""``luisy verify``: outputs whose bytes changed behind luisy's back, named.

A complete output is one whose recorded key is its task's current key; the key says nothing
about the bytes (a csv cut short by hand still reads without error). Each key recorded for a
local output carries the checksum of the bytes written then (:mod:`luisy.cache.content`);
verifying recomputes it for every complete output and reports those that differ. Nothing is
written: it reads outputs and the hash store, nothing more. ``build(verify=True)`` reruns
what this reports.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from luisy.cache import content_change, recorded_content
from luisy.config import for_build, use
from luisy.planner import Decision, Plan, make_plan
from luisy.tasks.base import ExternalTask, Task, WrapperTask

#: hex digits of a checksum shown in a report line (the data holds all of them)
SHOWN_DIGITS = 16


@dataclass(frozen=True)
class Mismatch:
    """A complete output whose bytes no longer match the checksum recorded with its key."""

    task: Task
    path: str
    recorded: str
    found: str

    def __str__(self) -> str:
        return (f"changed behind luisy's back: {self.path} ({self.task}): "
                f"recorded {_short(self.recorded)}, found {_short(self.found)}")


@dataclass
class Verification:
    """What verifying a plan found: the mismatches, and how many outputs could be checked."""

    mismatches: list[Mismatch] = field(default_factory=list)
    matched: int = 0
    #: complete outputs without a recorded checksum (an older store, a table, a remote blob)
    not_checkable: int = 0

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def counts(self) -> str:
        return (f"-- {self.matched + len(self.mismatches)} output(s) checked: "
                f"{len(self.mismatches)} changed, {self.matched} unchanged; "
                f"{self.not_checkable} not checkable (no checksum recorded)")


def _short(checksum: str) -> str:
    algorithm, _, digest = checksum.partition(":")
    return f"{algorithm}:{digest[:SHOWN_DIGITS]}…" if len(digest) > SHOWN_DIGITS else checksum


def check_plan(plan: Plan) -> Verification:
    """Compare every complete output of ``plan`` with the checksum recorded with its key."""
    result = Verification()
    for step in plan.steps.values():
        if (step.decision is not Decision.COMPLETE or step.store is None
                or isinstance(step.task, (ExternalTask, WrapperTask))):
            continue
        details = step.store.details_of(step.rel_path)
        if recorded_content(details) is None:
            result.not_checkable += 1
            continue
        change = content_change(step.task.output(), details)
        if change is None:
            result.matched += 1
        else:
            result.mismatches.append(Mismatch(step.task, step.location, *change))
    return result


def verify(task: Task, **config: Any) -> list[Mismatch]:
    """The outputs of ``task``'s graph changed behind luisy's back, as data (empty: none);
    ``config``: settings of this check only, such as ``working_dir``."""
    with use(for_build(config)):
        return check_plan(make_plan(task)).mismatches
