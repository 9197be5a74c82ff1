"""Pictures of a pipeline: mermaid (Prefect artifacts), matplotlib (``visualize``), SVG and HTML.

Nodes are coloured by the plan's decision, so a picture answers "what will run and why".
Every picture is drawn from one :class:`View` (nodes, edges, colour kinds) and, for the drawn
ones, one layered layout (dependencies left, the root right), so the PNG of ``visualize()``,
the HTML of ``luisy --visualize`` and the mermaid artifact show the same graph.
"""
from __future__ import annotations

import collections
import functools
import hashlib
import html
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from luisy.cache import Category
from luisy.config import current
from luisy.errors import NotSupportedError
from luisy.graph import TaskGraph, build_graph
from luisy.planner import Decision, Plan, Step, make_plan
from luisy.tasks.base import flatten

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.axes import Axes

    from luisy.tasks.base import Task

#: fill colour per decision; "code changed" is a run because the task's own code changed,
#: "output changed" one because its bytes were changed outside luisy (``verify``)
COLOURS = {
    "complete": "#b7e1b0",
    "run": "#ffd27f",
    "code changed": "#ff9f80",
    "data changed": "#7fc8f8",
    "output changed": "#c9a0ff",
    "download": "#8fd3c7",
    "missing external": "#ff6b6b",
    "not needed": "#d9d9d9",
}
#: what the legend says for each colour
LEGEND = {
    "complete": "complete",
    "run": "will run",
    "code changed": "will run: code changed",
    "data changed": "will run: input data changed",
    "output changed": "will run: output changed outside luisy",
    "download": "will be downloaded from the remote",
    "missing external": "missing external data",
    "not needed": "not needed",
}
#: fill of tasks drawn without a plan (no working dir set: decisions unknown)
UNPLANNED = "#e3ecf7"
_EDGE = "#555555"
#: parameter values longer than this are shortened in pictures
_MAX_VALUE = 40


def colour_class(step: Step) -> str:
    if step.decision is Decision.RUN and step.has(Category.CODE):
        return "code changed"
    if step.decision is Decision.RUN and step.has(Category.DATA):
        return "data changed"
    if step.decision is Decision.RUN and step.has(Category.CHANGED_OUTPUT):
        return "output changed"
    return step.decision.value


def _css_name(kind: str) -> str:
    return kind.replace(" ", "_")


def _label(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


# ------------------------------------------------------------------------------ the view
@dataclass
class Node:
    """One box of a picture: a task, or all tasks of one class in a large plan."""

    id: str
    lines: list[str]
    kind: str
    detail: str = ""

    @property
    def label(self) -> str:
        """One-line form, ``Family(p=v, ...)``."""
        head, *params = self.lines
        return f"{head}({', '.join(params)})" if params else head

    @property
    def fill(self) -> str:
        return COLOURS.get(self.kind, UNPLANNED)


@dataclass
class View:
    """What a picture shows: nodes in topological order and (dependency, user) edges."""

    nodes: list[Node]
    edges: list[tuple[str, str]] = field(default_factory=list)
    grouped: bool = False

    def kinds(self) -> list[str]:
        """Colour kinds present, in legend order."""
        present = {n.kind for n in self.nodes}
        return [k for k in COLOURS if k in present]


def task_lines(task: Task, parameters_to_exclude: Sequence[str] = ()) -> list[str]:
    """``[Family, "p=v", ...]`` over significant parameters, long values shortened."""
    lookup = dict(task.get_params())
    lines = [task.get_task_family()]
    for name in task.get_param_names():
        if name in parameters_to_exclude:
            continue
        value = task.param_kwargs[name]
        shown = "None" if value is None else lookup[name].serialize(value)
        if len(shown) > _MAX_VALUE:
            shown = shown[: _MAX_VALUE - 1] + "…"
        lines.append(f"{name}={shown}")
    return lines


def unique_child_tasks(graph: TaskGraph) -> list[Task]:
    """luisy 1.x ``unique_children``: from the root, follow one child per task class."""
    seen: dict[Task, None] = {}
    stack = [graph.root]
    while stack:
        task = stack.pop()
        if task in seen:
            continue
        seen[task] = None
        stack.extend(unique_types(graph.deps[task]))
    return [t for t in graph if t in seen]  # topological order


def unique_types(tasks: Sequence[Task]) -> list[Task]:
    """The first task of each class, in order (luisy 1.x: ``unique_children`` pictures)."""
    seen: dict[type, Task] = {}
    for task in tasks:
        seen.setdefault(type(task), task)
    return list(seen.values())


def graph_view(graph: TaskGraph, steps: dict[Task, Step] | None = None,
               unique_children: bool = False, parameters_to_exclude: Sequence[str] = (),
               max_nodes: int = 300) -> View:
    """The view of a task graph, coloured by ``steps`` (a plan's) when given.

    Past ``max_nodes`` tasks there is one node per task class, coloured by its most common
    decision, so a 10,000-task plan stays readable.
    """
    tasks = unique_child_tasks(graph) if unique_children else list(graph)
    shown = set(tasks)

    def kind(task: Task) -> str:
        return colour_class(steps[task]) if steps is not None else "unplanned"

    if len(tasks) <= max_nodes:
        ids = {t: f"n{i}" for i, t in enumerate(tasks)}
        nodes = [Node(ids[t], task_lines(t, parameters_to_exclude), kind(t),
                      steps[t].reason if steps is not None else "") for t in tasks]
        edges = [(ids[d], ids[t]) for t in tasks for d in graph.deps[t] if d in shown]
        return View(nodes, edges)
    groups: dict[type, list[Task]] = collections.defaultdict(list)
    for t in tasks:
        groups[type(t)].append(t)
    ids = {cls: f"c{i}" for i, cls in enumerate(groups)}
    nodes = []
    for cls, members in groups.items():
        counts = collections.Counter(kind(t) for t in members)
        detail = ", ".join(f"{n} {k}" for k, n in counts.items())
        nodes.append(Node(ids[cls], [f"{cls.__name__} x{len(members)}", detail],
                          counts.most_common(1)[0][0], detail))
    edges = sorted({(ids[type(d)], ids[type(t)]) for t in tasks for d in graph.deps[t]
                    if d in shown and type(d) is not type(t)})
    return View(nodes, edges, grouped=True)


def plan_view(plan: Plan, unique_children: bool = False,
              parameters_to_exclude: Sequence[str] = (), max_nodes: int = 300) -> View:
    return graph_view(plan.graph, plan.steps, unique_children, parameters_to_exclude,
                      max_nodes)


# ------------------------------------------------------------------------------- mermaid
def to_mermaid(plan: Plan, max_nodes: int = 300) -> str:
    """A mermaid flowchart of the plan; past ``max_nodes`` tasks, one node per task class."""
    view = plan_view(plan, max_nodes=max_nodes)
    lines = ["flowchart LR"]
    for n in view.nodes:
        text = "<br/>".join(map(_label, n.lines)) if view.grouped else _label(n.label)
        lines.append(f'  {n.id}["{text}"]:::{_css_name(n.kind)}')
    lines += [f"  {a} --> {b}" for a, b in view.edges]
    lines += [f"  classDef {_css_name(k)} fill:{v},stroke:#555" for k, v in COLOURS.items()]
    return "\n".join(lines)


def plan_rows(plan: Plan, limit: int | None = None) -> list[dict[str, Any]]:
    steps = list(plan.steps.values())[:limit]
    return [{"task": str(s.task), "decision": s.decision.value, "reason": s.reason,
             "output": s.location} for s in steps]


# -------------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Metrics:
    """Sizes in the renderer's unit (pixels for SVG, inches for matplotlib)."""

    char_w: float
    line_h: float
    pad_x: float
    pad_y: float
    gap_x: float
    gap_y: float
    top: float  # band above the graph for the legend


SVG_METRICS = Metrics(char_w=7.25, line_h=16, pad_x=10, pad_y=6, gap_x=60, gap_y=18, top=40)
MPL_METRICS = Metrics(char_w=0.082, line_h=0.158, pad_x=0.1, pad_y=0.07, gap_x=0.55,
                      gap_y=0.2, top=0.45)
_MPL_FONT_PT = 9.0


def columns(view: View) -> list[list[Node]]:
    """Nodes in layers: dependencies in earlier layers, each node one right of its deepest
    dependency; within a layer, ordered by the mean row of their dependencies (fewer
    crossings)."""
    deps: dict[str, list[str]] = collections.defaultdict(list)
    for a, b in view.edges:
        deps[b].append(a)
    layer: dict[str, int] = {}
    for n in view.nodes:  # topological order: known layers are those of real dependencies
        layer[n.id] = 1 + max((layer[d] for d in deps[n.id] if d in layer), default=-1)
    cols: list[list[Node]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for n in view.nodes:
        cols[layer[n.id]].append(n)
    row: dict[str, float] = {}
    for col in cols:
        for i, n in enumerate(col):
            placed = [row[d] for d in deps[n.id] if d in row]
            row[n.id] = sum(placed) / len(placed) if placed else i
        col.sort(key=lambda n: row[n.id])
        for i, n in enumerate(col):
            row[n.id] = i
    return cols


def layout(view: View, m: Metrics) -> tuple[dict[str, Box], float, float]:
    """Boxes per node id and the total width and height; y grows downwards."""
    cols = columns(view)
    sizes = {n.id: (max(len(s) for s in n.lines) * m.char_w + 2 * m.pad_x,
                    len(n.lines) * m.line_h + 2 * m.pad_y) for n in view.nodes}
    heights = [sum(sizes[n.id][1] for n in col) + m.gap_y * (len(col) - 1) for col in cols]
    total_h = max(heights, default=0)
    boxes: dict[str, Box] = {}
    x = m.gap_x / 2
    for col, col_h in zip(cols, heights, strict=True):
        col_w = max(sizes[n.id][0] for n in col)
        y = m.top + (total_h - col_h) / 2
        for n in col:
            w, h = sizes[n.id]
            boxes[n.id] = Box(x + (col_w - w) / 2, y, w, h)
            y += h + m.gap_y
        x += col_w + m.gap_x
    return boxes, x - m.gap_x / 2, m.top + total_h + m.gap_y


# ---------------------------------------------------------------------------- matplotlib
def draw_view(view: View, ax: Axes | None = None) -> Axes:
    """Draw a view with matplotlib: boxes by decision colour, arrows from dependency to user.

    Without ``ax`` a figure is sized to the graph; with one, the font shrinks to fit it.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    m = MPL_METRICS
    boxes, width, height = layout(view, m)
    kinds = view.kinds()
    # the legend is one row above the graph: make room for it (~0.08 in per character)
    width = max(width, 2.5, sum(0.08 * len(LEGEND[k]) + 0.6 for k in kinds))
    height = max(height, 1.0)
    scale = 1.0
    if ax is None:
        ax = plt.figure(figsize=(width, height)).add_axes((0, 0, 1, 1))
    else:
        extent = ax.get_window_extent()
        dpi = ax.figure.dpi
        scale = min(1.0, extent.width / dpi / width, extent.height / dpi / height)
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_aspect("equal")
    ax.axis("off")
    for n in view.nodes:
        b = boxes[n.id]
        ax.add_patch(FancyBboxPatch((b.x, b.y), b.w, b.h, boxstyle="round,pad=0,rounding_size=0.05",
                                    fc=n.fill, ec=_EDGE, lw=1, zorder=2))
        ax.text(b.x + b.w / 2, b.y + b.h / 2, "\n".join(n.lines), ha="center", va="center",
                family="monospace", fontsize=_MPL_FONT_PT * scale, zorder=3,
                linespacing=1.3)
    for a, b in view.edges:
        src, dst = boxes[a], boxes[b]
        ax.add_patch(FancyArrowPatch((src.x + src.w, src.y + src.h / 2),
                                     (dst.x, dst.y + dst.h / 2), arrowstyle="-|>",
                                     mutation_scale=10 * scale, color=_EDGE, lw=1, zorder=1,
                                     shrinkA=0, shrinkB=0))
    if kinds:
        ax.legend(handles=[Patch(fc=COLOURS[k], ec=_EDGE, label=LEGEND[k]) for k in kinds],
                  loc="upper left", ncol=len(kinds), frameon=False,
                  fontsize=_MPL_FONT_PT * scale, borderaxespad=0.2)
    return ax


def _plan_if_possible(task: Task) -> Plan | None:
    """The plan of ``task`` when a working dir is set (decisions need outputs to look at)."""
    if not current().get_param("working_dir"):
        return None
    return make_plan(task)


def visualize_task(task: Task, ax: Axes | None = None, unique_children: bool = True,
                   parameters_to_exclude: Sequence[str] = ()) -> Axes:
    """``Task.visualize``: the task's DAG, left to right, coloured by what a build would do.

    ``unique_children`` (the luisy 1.x default) follows one child per task class, so a task
    over 36 months shows one month; ``parameters_to_exclude`` are left out of the labels. Without
    a working dir the graph is drawn uncoloured, since decisions depend on outputs on disk.
    """
    plan = _plan_if_possible(task)
    graph = plan.graph if plan is not None else build_graph(task)
    view = graph_view(graph, plan.steps if plan is not None else None,
                      unique_children=unique_children,
                      parameters_to_exclude=parameters_to_exclude)
    return draw_view(view, ax)


# ----------------------------------------------------------------------------- svg, html
def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def to_svg(plan: Plan, unique_children: bool = False,
           parameters_to_exclude: Sequence[str] = (), max_nodes: int = 300) -> str:
    """A standalone SVG of the plan: one ``<g class="node">`` per box (with the decision and
    reason as ``data-``/``<title>``), one ``<path class="edge">`` per dependency, a legend."""
    view = plan_view(plan, unique_children, parameters_to_exclude, max_nodes)
    m = SVG_METRICS
    boxes, width, height = layout(view, m)
    width, height = max(width, 320), max(height, 60)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
           f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
           'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
           f'markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{_EDGE}"/>'
           '</marker></defs>',
           '<rect width="100%" height="100%" fill="#ffffff"/>',
           '<g class="legend">']
    x = m.gap_x / 2
    for k in view.kinds():
        out.append(f'<rect class="legend-key" x="{x:.1f}" y="12" width="14" height="14" '
                   f'fill="{COLOURS[k]}" stroke="{_EDGE}" data-decision="{_esc(k)}"/>'
                   f'<text x="{x + 20:.1f}" y="24">{_esc(LEGEND[k])}</text>')
        x += 20 + len(LEGEND[k]) * m.char_w + 24
    out.append("</g>")
    for a, b in view.edges:
        s, d = boxes[a], boxes[b]
        x1, y1, x2, y2 = s.x + s.w, s.y + s.h / 2, d.x, d.y + d.h / 2
        mid = (x1 + x2) / 2
        out.append(f'<path class="edge" d="M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} '
                   f'{mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" fill="none" stroke="{_EDGE}" '
                   f'marker-end="url(#arrow)" data-from="{a}" data-to="{b}"/>')
    for n in view.nodes:
        b = boxes[n.id]
        out.append(f'<g class="node" id="{n.id}" data-decision="{_esc(n.kind)}">'
                   f"<title>{_esc(n.label)}: {_esc(n.kind)}"
                   f"{' - ' + _esc(n.detail) if n.detail else ''}</title>"
                   f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" '
                   f'rx="5" fill="{n.fill}" stroke="{_EDGE}"/>')
        for i, line in enumerate(n.lines):
            y = b.y + m.pad_y + (i + 0.75) * m.line_h
            weight = ' font-weight="bold"' if i == 0 else ""
            out.append(f'<text x="{b.x + b.w / 2:.1f}" y="{y:.1f}" text-anchor="middle"'
                       f"{weight}>{_esc(line)}</text>")
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


_CSS = """
h1 { font-size: 20px; }
body { font-family: system-ui, sans-serif; margin: 16px; color: #222; background: #fff; }
.graph { overflow: auto; border: 1px solid #ddd; }
table { border-collapse: collapse; margin-top: 16px; font-size: 13px; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
td.decision { white-space: nowrap; }
pre { background: #f6f6f6; padding: 8px; }
"""


def to_html(plan: Plan, path: str | os.PathLike | None = None, *,
            unique_children: bool = False, parameters_to_exclude: Sequence[str] = (),
            max_nodes: int = 300, max_rows: int = 1000) -> str:
    """A self-contained HTML page (no scripts, no network): the SVG picture, the plan table
    and the mermaid source. Written to ``path`` when given; the HTML is returned."""
    counts = ", ".join(f"{n} {d}" for d, n in plan.counts().items() if n)
    rows = []
    for r, step in zip(plan_rows(plan, max_rows), plan.steps.values(), strict=False):
        colour = COLOURS.get(colour_class(step), UNPLANNED)
        rows.append(f'<tr><td>{_esc(r["task"])}</td><td class="decision" '
                    f'style="background:{colour}">{_esc(r["decision"])}</td>'
                    f'<td>{_esc(r["reason"])}</td><td>{_esc(r["output"])}</td></tr>')
    capped = f" (first {max_rows} of {len(plan.steps)})" if len(plan.steps) > max_rows else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>luisy plan: {_esc(str(plan.root))}</title><style>{_CSS}</style></head>
<body>
<h1>{_esc(str(plan.root))}</h1>
<p>{len(plan.steps)} tasks: {_esc(counts)}</p>
<div class="graph">
{to_svg(plan, unique_children, parameters_to_exclude, max_nodes)}
</div>
<table><thead><tr><th>task</th><th>decision</th><th>reason</th><th>output</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<p>{capped}</p>
<details><summary>mermaid source</summary><pre>{_esc(to_mermaid(plan, max_nodes))}</pre></details>
</body></html>
"""
    if path is not None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(page)
    return page


def save_plan_picture(plan: Plan, path: str | os.PathLike) -> str:
    """Write the plan picture in the format the suffix names: ``.html``, ``.svg``, ``.mmd``
    (mermaid) or any matplotlib format (``.png``, ``.pdf``). Returns the path."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".html", ".htm"):
        to_html(plan, path)
    elif suffix in (".svg", ".mmd"):
        text = to_svg(plan) if suffix == ".svg" else to_mermaid(plan)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        import matplotlib.pyplot as plt

        ax = draw_view(plan_view(plan))
        try:
            ax.figure.savefig(path)
        finally:
            plt.close(ax.figure)
    return path


# ------------------------------------------------------------------ luisy 1.x's helpers
def simple_task_string(task: Task) -> str:
    """luisy 1.x's two-line label: the family, then the rest of the task id."""
    family, _, rest = task.task_id.partition("(")
    return f"{family}\n({rest}" if rest else family



def create_label(task: Task, excl_list: Sequence[str] = (), with_id: bool = False) -> str:
    """luisy 1.x's node label: the family (with ``with_id``, followed by a short id of the
    task, as 1.x appended luigi's hash), then ``name=value`` per parameter not in
    ``excl_list``, one a line. Tasks that differ only in excluded parameters share a label,
    so they are one node of :func:`make_dependency_graph`, as in 1.x."""
    name = task.get_task_family()
    if with_id:
        name += hashlib.md5(task.task_id.encode()).hexdigest()[:10]
    for key, value in task.param_kwargs.items():
        if key not in excl_list:
            name += f"\n{key}={value}"
    return name


def add_children(task: Task, graph: nx.DiGraph,
                 namefunc: Callable[[Task], str] = create_label, depth: int = 1,
                 depth_limit: float = 10, unique_children: bool = False) -> None:
    """luisy 1.x: add the requirements of ``task`` to ``graph`` as edges task -> requirement,
    depth first, while ``depth <= depth_limit`` (``task`` is at ``depth``).

    Unlike 1.x's recursion, a task already expanded at the same or a smaller depth is not
    expanded again (its edges are in the graph), so shared upstream tasks cost once, deep
    chains do not hit Python's recursion limit and a cycle ends; graph, node order and edge
    order are those of 1.x.
    """
    def children(of: Task) -> list[Task]:
        found = flatten(of.requires())
        return unique_types(found) if unique_children else found

    expanded: dict[Task, float] = {}
    # (user, requirement, depth of the requirement), in reverse so the first child pops first
    stack: list[tuple[Task, Task, float]] = []

    def expand(parent: Task, at: float) -> None:
        if at > depth_limit or expanded.get(parent, float("inf")) <= at:
            return
        expanded[parent] = at
        stack.extend((parent, child, at + 1) for child in reversed(children(parent)))

    expand(task, depth)
    while stack:
        parent, child, at = stack.pop()
        graph.add_edge(namefunc(parent), namefunc(child))
        expand(child, at)


def make_dependency_graph(task: Task, excl_list: Sequence[str] = (),
                          namefunc: Callable[[Task], str] | None = None,
                          unique_children: bool = True, depth_limit: float = 10) -> nx.DiGraph:
    """luisy 1.x's dependency graph of ``task`` as a ``networkx.DiGraph``.

    Nodes are labels, ``namefunc(task)`` (default :func:`create_label` without the parameters
    in ``excl_list``; :func:`simple_task_string` is 1.x's short one); an edge runs from a task
    to each task it requires, down to ``depth_limit`` levels below the root (pass
    ``math.inf`` for all). With ``unique_children`` (the default) only the first requirement
    of each class is followed. Nodes carry no attributes, as in 1.x.

    Raises:
        NotSupportedError: networkx is not installed (it is an optional package of luisy 2).
    """
    try:
        import networkx as nx
    except ImportError:
        raise NotSupportedError(
            "luisy.visualize.make_dependency_graph() returns a networkx graph and needs the "
            "package networkx, which is not installed: pip install networkx") from None
    if namefunc is None:
        namefunc = functools.partial(create_label, excl_list=excl_list)
    dag = nx.DiGraph()
    dag.add_node(namefunc(task))  # a task without requirements is still a node
    add_children(task, dag, namefunc, unique_children=unique_children, depth_limit=depth_limit)
    return dag
