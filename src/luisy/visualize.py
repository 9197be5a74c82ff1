"""Pictures of a pipeline: mermaid (Prefect artifacts, HTML) and matplotlib (``visualize``).

Nodes are coloured by the plan's decision, so a picture answers "what will run and why".
"""
from __future__ import annotations

import collections
from typing import Any

from luisy.planner import Decision, Plan, Step

#: fill colour per decision; "code changed" is a run whose reason names changed code
COLOURS = {
    "complete": "#b7e1b0",
    "run": "#ffd27f",
    "code changed": "#ff9f80",
    "missing external": "#ff6b6b",
    "not needed": "#d9d9d9",
}


def colour_class(step: Step) -> str:
    if step.decision is Decision.RUN and "changed" in step.reason:
        return "code changed"
    return step.decision.value


def _css_name(kind: str) -> str:
    return kind.replace(" ", "_")


def _label(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(plan: Plan, max_nodes: int = 300) -> str:
    """A mermaid flowchart of the plan; past ``max_nodes`` tasks, one node per task class."""
    lines = ["flowchart LR"]
    steps = list(plan.steps.values())
    if len(steps) <= max_nodes:
        ids = {s.task: f"n{i}" for i, s in enumerate(steps)}
        for s in steps:
            lines.append(f'  {ids[s.task]}["{_label(str(s.task))}"]:::{_css_name(colour_class(s))}')
        for s in steps:
            lines += [f"  {ids[d]} --> {ids[s.task]}" for d in s.deps]
    else:
        groups: dict[type, list[Step]] = collections.defaultdict(list)
        for s in steps:
            groups[type(s.task)].append(s)
        ids = {cls: f"c{i}" for i, cls in enumerate(groups)}
        for cls, members in groups.items():
            counts = collections.Counter(colour_class(s) for s in members)
            main = counts.most_common(1)[0][0]
            detail = ", ".join(f"{n} {k}" for k, n in counts.items())
            lines.append(f'  {ids[cls]}["{cls.__name__} x{len(members)}<br/>{detail}"]'
                         f":::{_css_name(main)}")
        edges = {(type(d), type(s.task)) for s in steps for d in s.deps}
        lines += [f"  {ids[a]} --> {ids[b]}" for a, b in sorted(edges, key=str)]
    lines += [f"  classDef {_css_name(k)} fill:{v},stroke:#555" for k, v in COLOURS.items()]
    return "\n".join(lines)


def plan_rows(plan: Plan, limit: int | None = None) -> list[dict[str, Any]]:
    steps = list(plan.steps.values())[:limit]
    return [{"task": str(s.task), "decision": s.decision.value, "reason": s.reason,
             "output": s.location} for s in steps]
