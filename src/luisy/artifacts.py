"""Prefect artifacts that tell a flow run's story in the UI.

Per flow run: the plan as a table (task, decision, reason, output), the DAG coloured by
decision, and at the end a table of the outputs produced. The DAG is an SVG image, which
Prefect's default UI shows, followed by the same graph as mermaid, which only its V2 UI draws
(the default UI shows it as code). Tables and pictures are capped so a 10,000-task plan does not
become a multi-megabyte artifact; the cap is stated in the artifact.

They are sent from a background thread (:class:`Publisher`), so an API call that waits on a busy
server never holds up the tasks, with the flow run's own client, which costs less than a client
of their own (making one loads the TLS certificates: ~0.1 s of CPU, on the build's critical
path). ``build()`` opens that client around the flow run and waits for the artifacts after it,
so the outputs table, sent when the last task is done, overlaps Prefect's last calls of the run
instead of coming before them; a flow of :func:`luisy.flow` waits for them before it ends. A
failed artifact is a warning in the flow run's log, never a failed build.
"""
from __future__ import annotations

import base64
import contextvars
import logging
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from luisy.planner import Plan
from luisy.summary import BuildSummary
from luisy.visualize import COLOURS, plan_rows, to_mermaid, to_svg

MAX_ROWS = 1000
#: past this many tasks the DAG pictures show one box per task class: a picture of 10,000 boxes
#: is unreadable and would make the artifact megabytes large
MAX_NODES = 300


def artifact_key(plan: Plan, kind: str) -> str:
    family = re.sub(r"[^a-z0-9-]+", "-", plan.root.get_task_family().lower()).strip("-")
    return f"luisy-{kind}-{family}"


def _capped(total: int) -> str:
    return f" (first {MAX_ROWS} of {total})" if total > MAX_ROWS else ""


class Publisher:
    """Runs artifact calls in order on one thread, in the context (flow run, its client) they
    came from; :meth:`wait` before that context ends."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="luisy-artifacts")
        self._sent: list[tuple[Future, logging.Logger | logging.LoggerAdapter]] = []

    def submit(self, publish: Callable[..., None], *args: Any) -> None:
        context = contextvars.copy_context()
        self._sent.append((self._pool.submit(context.run, publish, *args), _logger()))

    def wait(self, timeout: float = 120) -> None:
        """Until every artifact is sent; failures become warnings."""
        for future, logger in self._sent:
            try:
                future.result(timeout=timeout)
            except Exception as exc:
                logger.warning("luisy could not create an artifact: %s: %s",
                               type(exc).__name__, exc)
        self._sent.clear()
        self._pool.shutdown(wait=False)


def _logger() -> logging.Logger | logging.LoggerAdapter:
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("luisy")


def publish_plan(plan: Plan) -> None:
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    counts = ", ".join(f"{n} {d}" for d, n in plan.counts().items() if n)
    create_table_artifact(
        key=artifact_key(plan, "plan"), table=plan_rows(plan, MAX_ROWS),
        description=f"luisy plan for {plan.root}: {counts}{_capped(len(plan.steps))}",
    )
    create_markdown_artifact(
        key=artifact_key(plan, "dag"), markdown=dag_markdown(plan),
        description=f"luisy DAG of {_literal(str(plan.root))}, coloured by decision",
    )


def dag_markdown(plan: Plan) -> str:
    """The DAG artifact's markdown: the picture for the default UI, then mermaid for V2.

    The picture is an SVG in a ``data:`` URI: the default UI renders markdown images as plain
    ``<img>`` elements (no sanitizer drops ``data:`` there), while inline ``<svg>`` markup would
    pass its HTML sanitizer, and a file served elsewhere would need a second server.
    """
    svg = base64.b64encode(to_svg(plan, max_nodes=MAX_NODES).encode()).decode("ascii")
    legend = " ".join(f"`{k}`" for k in COLOURS)
    grouped = (f"{len(plan.steps)} tasks, more than {MAX_NODES}: one box per task class.\n\n"
               if len(plan.steps) > MAX_NODES else "")
    return (f"### {_literal(str(plan.root))}\n\n{grouped}"
            f"![DAG of {plan.root.get_task_family()}](data:image/svg+xml;base64,{svg})\n\n"
            f"```mermaid\n{to_mermaid(plan, max_nodes=MAX_NODES)}\n```\n\nColours: {legend}")


def _literal(text: str) -> str:
    """Markdown showing ``text`` as written (the UI renders descriptions as markdown too): a
    label ``x=<d>`` is otherwise an HTML tag, which the UI's sanitizer drops, and ``*`` or ``_``
    would turn into emphasis."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


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
