"""The documentation's pictures (``scripts/docs_pictures.py``): referenced, present, current.

The plan picture is made again here from a real build and compared with the committed one, box
by box (task, decision, reason): a change in the planner, the colours or the sales example
that changes the picture fails here until ``scripts/docs_pictures.py`` is run again. The
screenshots need a server with the UI and a browser: here each is only checked to be a real,
sensibly sized picture with something on it.
"""
from __future__ import annotations

import importlib.util
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from luisy.visualize import COLOURS, LEGEND

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SVG_NS = "{http://www.w3.org/2000/svg}"
#: picture -> the page that shows it
PAGES = {
    "sales-plan.svg": "getting-started.md",
    "prefect-flow-run.png": "prefect.md",
    "prefect-artifacts.png": "prefect.md",
    "prefect-dag-artifact.png": "prefect.md",
    "prefect-run-form.png": "prefect.md",
}


def _script():
    spec = importlib.util.spec_from_file_location("docs_pictures",
                                                  ROOT / "scripts" / "docs_pictures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _boxes(svg: str) -> list[tuple[str, str, str]]:
    """(decision, title, lines of text) per box, and the legend's keys, of a plan SVG."""
    tree = ET.fromstring(svg)
    boxes = []
    for g in tree.iter(f"{SVG_NS}g"):
        if g.get("class") == "node":
            fill = g.find(f"{SVG_NS}rect").get("fill")
            text = " / ".join(t.text for t in g.iter(f"{SVG_NS}text"))
            boxes.append((g.get("data-decision"), fill, g.find(f"{SVG_NS}title").text, text))
    return boxes


def _legend(svg: str) -> list[str]:
    tree = ET.fromstring(svg)
    return [r.get("data-decision") for r in tree.iter(f"{SVG_NS}rect")
            if r.get("class") == "legend-key"]


@pytest.mark.parametrize(("picture", "page"), sorted(PAGES.items()))
def test_each_picture_exists_and_its_page_shows_it(picture, page):
    assert (DOCS / "images" / picture).is_file(), "run: .venv/bin/python scripts/docs_pictures.py"
    text = (DOCS / page).read_text(encoding="utf-8")
    assert re.search(rf"!\[[^\]]+\]\(images/{re.escape(picture)}\)", text), (
        f"{page} has no image reference with alt text to images/{picture}")


def test_the_plan_picture_shows_several_decisions_with_their_colours():
    svg = (DOCS / "images" / "sales-plan.svg").read_text(encoding="utf-8")
    boxes = _boxes(svg)
    assert len(boxes) == 11  # 3 x (RawSales, CleanSales, MonthlySummary), AllMonths, report
    kinds = {kind for kind, *_ in boxes}
    assert kinds == {"complete", "run", "data changed", "not needed"}
    assert all(fill == COLOURS[kind] for kind, fill, *_ in boxes)
    assert _legend(svg) == [k for k in LEGEND if k in kinds]


@pytest.mark.usefixtures("prefect_server")
def test_the_plan_picture_is_the_plan_drawing_of_todays_code(tmp_path):
    """Made again from a real build in a temp dir: the same boxes, decisions and reasons."""
    fresh = _script().plan_svg(tmp_path)
    committed = (DOCS / "images" / "sales-plan.svg").read_text(encoding="utf-8")
    assert _boxes(fresh) == _boxes(committed), "run: .venv/bin/python scripts/docs_pictures.py"
    assert _legend(fresh) == _legend(committed)
    assert fresh.strip() == committed.strip()  # the layout too: the script is deterministic


@pytest.mark.parametrize("picture", sorted(p for p in PAGES if p.endswith(".png")))
def test_each_screenshot_is_a_real_picture_of_sensible_size(picture):
    path = DOCS / "images" / picture
    assert path.stat().st_size < 300_000
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert 1000 <= image.width <= 2000 and 600 <= image.height <= 1400
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 50, "hardly any colours: a blank page?"
    most = max(count for count, _ in colours)
    assert most < 0.9 * rgb.width * rgb.height, "one colour almost everywhere: a blank page?"
