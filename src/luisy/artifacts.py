"""Prefect artifacts that tell a flow run's story in the UI.

Per flow run: the plan as a table (task, decision, reason, output), the DAG as a mermaid
diagram coloured by decision, and at the end a table of the outputs produced. Tables are capped
so a 10,000-task plan does not become a multi-megabyte artifact; the cap is stated in the
artifact's description.
"""
from __future__ import annotations

import re

from luisy.planner import Plan
from luisy.summary import BuildSummary
from luisy.visualize import COLOURS, plan_rows, to_mermaid

MAX_ROWS = 1000


def artifact_key(plan: Plan, kind: str) -> str:
    family = re.sub(r"[^a-z0-9-]+", "-", plan.root.get_task_family().lower()).strip("-")
    return f"luisy-{kind}-{family}"


def _capped(total: int) -> str:
    return f" (first {MAX_ROWS} of {total})" if total > MAX_ROWS else ""


def publish_plan(plan: Plan) -> None:
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    counts = ", ".join(f"{n} {d}" for d, n in plan.counts().items() if n)
    create_table_artifact(
        key=artifact_key(plan, "plan"), table=plan_rows(plan, MAX_ROWS),
        description=f"luisy plan for {plan.root}: {counts}{_capped(len(plan.steps))}",
    )
    legend = " ".join(f"`{k}`" for k in COLOURS)
    create_markdown_artifact(
        key=artifact_key(plan, "dag"),
        markdown=f"### {plan.root}\n\n```mermaid\n{to_mermaid(plan)}\n```\n\nColours: {legend}",
        description=f"luisy DAG of {plan.root}, coloured by decision",
    )


def publish_outputs(plan: Plan, summary: BuildSummary) -> None:
    from prefect.artifacts import create_table_artifact

    rows = [
        {"task": str(step.task), "output": step.location, "key": step.key.key[:16]}
        for step in plan.steps.values()
        if step.task in summary.completed and step.task.output() is not None
    ]
    create_table_artifact(
        key=artifact_key(plan, "outputs"), table=rows[:MAX_ROWS],
        description=f"outputs written by this run of {plan.root}{_capped(len(rows))}",
    )
