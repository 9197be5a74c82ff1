"""The task graph: every task reachable from a root through ``requires()``, in run order."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from luisy.errors import CycleError
from luisy.tasks.base import Task


@dataclass
class TaskGraph:
    root: Task
    #: task -> its direct dependencies, in topological order (dependencies first)
    deps: dict[Task, list[Task]] = field(default_factory=dict)
    #: task -> tasks that require it directly
    dependents: dict[Task, list[Task]] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Task]:
        return iter(self.deps)

    def __len__(self) -> int:
        return len(self.deps)

    def downstream(self, task: Task, reached: set[Task] | None = None) -> set[Task]:
        """All tasks that depend on ``task``, directly or not.

        With ``reached`` (tasks collected by earlier calls, updated in place), those tasks and
        their own downstream are left out, so that marking the downstream of many failures
        visits each task once.
        """
        seen: set[Task] = set()
        reached = set() if reached is None else reached
        stack = [task]
        while stack:
            for parent in self.dependents.get(stack.pop(), ()):
                if parent not in seen and parent not in reached:
                    seen.add(parent)
                    reached.add(parent)
                    stack.append(parent)
        return seen


def build_graph(root: Task) -> TaskGraph:
    """Discover the DAG below ``root`` without recursion (deep chains are fine).

    ``requires()`` is called once per task; a cycle raises :class:`CycleError` naming it.
    """
    graph = TaskGraph(root=root)
    order: dict[Task, list[Task]] = {}
    on_path: dict[Task, int] = {}
    path: list[Task] = []
    stack: list[tuple[Task, Iterator[Task]]] = []

    def enter(task: Task) -> None:
        children = task.deps()
        graph.dependents.setdefault(task, [])
        for child in children:
            graph.dependents.setdefault(child, []).append(task)
        on_path[task] = len(path)
        path.append(task)
        stack.append((task, iter(dict.fromkeys(children))))
        order[task] = children

    enter(root)
    while stack:
        task, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            path.pop()
            del on_path[task]
            graph.deps[task] = order[task]
            continue
        if child in on_path:
            raise CycleError([*path[on_path[child]:], child])
        if child not in order:
            enter(child)
    return graph
