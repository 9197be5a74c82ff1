"""Pictures of the plan: the view, the layout, matplotlib PNGs, SVG/HTML, mermaid and the CLI.

Pictures are checked by rendering them: PNGs are saved and read back, the HTML page's SVG is
parsed, and when Chromium is installed the page is screenshotted and its pixels inspected.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]

from flows.sales.tasks import AllMonths, CleanSales, MonthlySummary, RawSales, SalesReport  # noqa: E402

import luisy  # noqa: E402
from luisy import cli  # noqa: E402
from luisy.cache import Category, Reason  # noqa: E402
from luisy.planner import make_plan  # noqa: E402
from luisy.visualize import (  # noqa: E402
    COLOURS,
    UNPLANNED,
    Node,
    View,
    columns,
    draw_view,
    graph_view,
    plan_view,
    save_plan_picture,
    task_lines,
    to_html,
    to_mermaid,
    to_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = ["2024-01", "2024-02", "2024-03"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def colours_in(png: str | os.PathLike) -> set[tuple[int, int, int]]:
    """The exact RGB colours of a PNG's pixels."""
    img = mpimg.imread(png)
    if img.dtype != np.uint8:
        img = (img[..., :3] * 255).round().astype(np.uint8)
    return set(map(tuple, img[..., :3].reshape(-1, 3).tolist()))


def half_built() -> SalesReport:
    """January cleaned and recorded (without running anything: hash-update mode adopts the
    output written here); the rest will run. RawSales is bundled data, so complete."""
    CleanSales(month="2024-01").write(pd.DataFrame({"order_id": [1]}))
    luisy.build(CleanSales(month="2024-01"), hash_update_mode=True)
    return SalesReport()


# ------------------------------------------------------------------------------ the view
def test_full_view_has_every_task_and_dependency():
    plan = make_plan(SalesReport())
    view = plan_view(plan)
    assert len(view.nodes) == 11
    assert len(view.edges) == 10
    kinds = {n.label: n.kind for n in view.nodes}
    assert kinds["RawSales(month=2024-01)"] == "complete"
    assert kinds["CleanSales(month=2024-01, min_quantity=1)"] == "run"


def test_unique_children_follows_one_child_per_class_like_luisy_1():
    view = graph_view(make_plan(SalesReport()).graph, unique_children=True)
    assert [n.lines[0] for n in view.nodes] == [
        "RawSales", "CleanSales", "MonthlySummary", "AllMonths", "SalesReport"]
    assert all(n.kind == "unplanned" and n.fill == UNPLANNED for n in view.nodes)
    assert len(view.edges) == 4


def test_labels_leave_out_excluded_parameters_and_shorten_long_values():
    task = AllMonths(months=[f"2024-{m:02d}" for m in range(1, 13)])
    assert task_lines(task, parameters_to_exclude=("months",)) == ["AllMonths", "min_quantity=1"]
    months_line = task_lines(task)[1]
    assert months_line.startswith('months=["2024-01"') and months_line.endswith("…")
    assert len(months_line) == len("months=") + 40


def test_large_plans_are_grouped_by_class():
    plan = make_plan(SalesReport())
    view = plan_view(plan, max_nodes=5)
    assert view.grouped
    assert [n.lines[0] for n in view.nodes] == [
        "RawSales x3", "CleanSales x3", "MonthlySummary x3", "AllMonths x1", "SalesReport x1"]
    assert len(view.edges) == 4
    text = to_mermaid(plan, max_nodes=5)
    assert 'c0["RawSales x3<br/>3 complete"]:::complete' in text
    assert "c0 --> c1" in text


def test_mermaid_of_a_small_plan_has_one_node_per_task():
    text = to_mermaid(make_plan(CleanSales(month="2024-02")))
    assert text.splitlines()[:4] == [
        "flowchart LR",
        '  n0["RawSales(month=2024-02)"]:::complete',
        '  n1["CleanSales(month=2024-02, min_quantity=1)"]:::run',
        "  n0 --> n1",
    ]
    assert "classDef code_changed fill:#ff9f80" in text


def test_layers_put_dependencies_left_of_their_users():
    cols = columns(plan_view(make_plan(SalesReport())))
    assert [[n.lines[0] for n in col] for col in cols] == [
        ["RawSales"] * 3, ["CleanSales"] * 3, ["MonthlySummary"] * 3, ["AllMonths"],
        ["SalesReport"]]
    # rows follow the dependencies: January's chain stays on one row
    assert [n.lines[1] for n in cols[2]] == [f"month={m}" for m in MONTHS]


# -------------------------------------------------------------------------- matplotlib
def test_visualize_draws_a_png_with_the_decision_colours(tmp_path):
    ax = half_built().visualize(unique_children=False)
    out = tmp_path / "dag.png"
    ax.figure.savefig(out, dpi=80)
    width, height = ax.figure.get_size_inches() * 80
    img = mpimg.imread(out)
    assert abs(img.shape[0] - height) <= 1 and abs(img.shape[1] - width) <= 1
    found = colours_in(out)
    assert rgb(COLOURS["complete"]) in found  # RawSales and January's CleanSales
    assert rgb(COLOURS["run"]) in found
    assert rgb(COLOURS["code changed"]) not in found


def test_visualize_into_a_given_axis_returns_it(tmp_path):
    fig, ax = plt.subplots(figsize=(6, 3))
    assert SalesReport().visualize(ax=ax, parameters_to_exclude=("months",)) is ax
    labels = [t.get_text() for t in ax.texts]
    assert "SalesReport\nmin_quantity=1" in labels
    assert len(labels) == 5  # one child per class
    fig.savefig(tmp_path / "small.png")
    assert rgb(COLOURS["run"]) in colours_in(tmp_path / "small.png")


def test_visualize_without_working_dir_draws_uncoloured(tmp_path):
    luisy.Config().set_param("working_dir", None)
    ax = SalesReport().visualize()
    ax.figure.savefig(tmp_path / "plain.png")
    found = colours_in(tmp_path / "plain.png")
    assert rgb(UNPLANNED) in found
    assert not {rgb(c) for c in COLOURS.values()} & found


def test_every_decision_colour_is_drawn():
    kinds = list(COLOURS)
    view = View([Node(f"n{i}", [k], k) for i, k in enumerate(kinds)],
                [(f"n{i}", f"n{i + 1}") for i in range(len(kinds) - 1)])
    ax = draw_view(view)
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png")
    buf.seek(0)
    found = colours_in(buf)
    assert {rgb(c) for c in COLOURS.values()} <= found
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "complete", "will run", "will run: code changed", "will run: input data changed",
        "will run: output changed outside luisy", "will be downloaded from the remote",
        "missing external data", "not needed"]


# ---------------------------------------------------------------------------- svg, html
def svg_of(page: str) -> ET.Element:
    start, end = page.index("<svg"), page.index("</svg>") + len("</svg>")
    return ET.fromstring(page[start:end])


def test_html_page_is_self_contained_with_a_node_per_task(tmp_path):
    plan = make_plan(half_built())
    page = to_html(plan, tmp_path / "plan.html")
    assert (tmp_path / "plan.html").read_text(encoding="utf-8") == page
    assert "<script" not in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", "")
    svg = svg_of(page)
    nodes = svg.findall(f".//{SVG}g[@class='node']")
    edges = svg.findall(f".//{SVG}path[@class='edge']")
    assert len(nodes) == 11 and len(edges) == 10
    fills = {n.find(f"{SVG}title").text.split(":")[0]: n.find(f"{SVG}rect").get("fill")
             for n in nodes}
    assert fills["RawSales(month=2024-01)"] == COLOURS["complete"]
    assert fills["CleanSales(month=2024-01, min_quantity=1)"] == COLOURS["complete"]
    assert fills["CleanSales(month=2024-02, min_quantity=1)"] == COLOURS["run"]
    legend = [k.get("data-decision") for k in svg.findall(f".//{SVG}rect[@class='legend-key']")]
    assert legend == ["complete", "run"]
    # every edge starts on its dependency's box and ends on its user's box
    ids = {n.get("id"): n.find(f"{SVG}rect") for n in nodes}
    for edge in edges:
        src, dst = ids[edge.get("data-from")], ids[edge.get("data-to")]
        start = edge.get("d").split()[0][1:].split(",")
        assert float(start[0]) == pytest.approx(
            float(src.get("x")) + float(src.get("width")), abs=0.15)
        assert float(edge.get("d").split()[-1].split(",")[0]) == pytest.approx(
            float(dst.get("x")), abs=0.15)
    assert "flowchart LR" in page  # the mermaid source, as text
    assert page.count("<tr>") == 1 + 11  # the plan table


@luisy.raw
class Labelled(luisy.Task):
    label = luisy.Parameter()


def test_svg_escapes_labels():
    text = to_svg(make_plan(Labelled(label='<b> & "q"')))
    ET.fromstring(text)  # well-formed despite the value
    assert "label=&lt;b&gt; &amp; &quot;q&quot;" in text


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_html_renders_in_chromium_with_the_decision_colours(tmp_path):
    page = tmp_path / "plan.html"
    to_html(make_plan(half_built()), page)
    shot = tmp_path / "shot.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--force-color-profile=srgb", "--window-size=1400,900", f"--screenshot={shot}",
         f"--user-data-dir={tmp_path / 'profile'}", page.as_uri()],
        check=True, capture_output=True, timeout=120)
    found = colours_in(shot)
    assert rgb(COLOURS["complete"]) in found
    assert rgb(COLOURS["run"]) in found
    assert rgb(COLOURS["missing external"]) not in found


def test_save_plan_picture_picks_the_format_from_the_suffix(tmp_path):
    plan = make_plan(MonthlySummary(month="2024-01"))
    for name in ("p.html", "p.svg", "p.mmd", "p.png"):
        save_plan_picture(plan, tmp_path / name)
    assert (tmp_path / "p.html").read_text().startswith("<!DOCTYPE html>")
    ET.parse(tmp_path / "p.svg")
    assert (tmp_path / "p.mmd").read_text().startswith("flowchart LR")
    assert rgb(COLOURS["run"]) in colours_in(tmp_path / "p.png")


def test_missing_external_is_red(tmp_path, monkeypatch):
    monkeypatch.setattr(RawSales, "get_outdir", lambda self: str(tmp_path / "nothing"))
    view = plan_view(make_plan(CleanSales(month="2024-01")))
    assert [n.kind for n in view.nodes] == ["missing external", "run"]
    assert view.kinds() == ["run", "missing external"]


# ---------------------------------------------------------------------------------- cli
def test_cli_writes_the_plan_picture(tmp_path, working_dir, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    code = cli.main(["--module", "flows.sales.tasks", "SalesReport", "--working-dir",
                     str(working_dir), "--dry-run", "--visualize", str(tmp_path / "plan.html")],
                    out=out)
    assert code == 0
    assert f"plan picture: {tmp_path / 'plan.html'}" in out.getvalue()
    nodes = svg_of((tmp_path / "plan.html").read_text()).findall(f".//{SVG}g[@class='node']")
    assert len(nodes) == 11
    assert os.listdir(working_dir) == []  # a dry run writes nothing else


@pytest.mark.parametrize(("reason", "colour"), [
    (Reason(Category.CODE, ("pkg.utils.clean",)), "code changed"),
    (Reason(Category.DATA, ("RawSales(month=2024-01)",)), "data changed"),
    (Reason(Category.UPSTREAM, ("Clean()",)), "run"),
    (Reason(Category.LIBRARY, ("pandas 2.2 -> 2.3",)), "run"),
    (Reason(Category.NO_OUTPUT), "run"),
    (Reason(Category.CHANGED_OUTPUT, ("/w/p/a.csv",)), "output changed"),
    (Reason(Category.CHANGED_UPSTREAM, ("A()",)), "run"),
])
def test_colours_follow_the_reasons_category_not_its_words(reason, colour):
    # "upstream changed" and "library changed" read like "code changed" but are not
    from luisy.planner import Decision, Step
    from luisy.visualize import colour_class

    step = Step(task=None, decision=Decision.RUN, reasons=(reason,), key=None, deps=[],
                location="")
    assert colour_class(step) == colour
