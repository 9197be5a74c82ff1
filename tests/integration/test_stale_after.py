"""``stale_after``: which tasks rerun after an edit, on the sales example, and checked against a
real build: a copy of the example is built as Prefect flows, its source edited on disk, and
the plan's tasks to run must be exactly those ``stale_after`` predicted, for the same reasons.
"""
from __future__ import annotations

import inspect
import itertools
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

from flows.sales import helpers  # noqa: E402
from flows.sales.tasks import (  # noqa: E402
    AllMonths,
    CleanSales,
    MonthlySummary,
    RawSales,
    SalesReport,
)

import luisy  # noqa: E402
from luisy.cache import clear_cache  # noqa: E402
from luisy.planner import make_plan  # noqa: E402
from luisy.testing import ANY_CHANGE, StaleTasks, stale_after  # noqa: E402

MONTHS = ["2024-01", "2024-02", "2024-03"]
ALL_BUT_RAW = {"CleanSales", "MonthlySummary", "AllMonths", "SalesReport"}


def summarise(df):
    """A different implementation under another name: the name does not matter."""
    return df.groupby("region", as_index=False).sum()


# ------------------------------------------------------------------------ what reruns
def test_editing_clean_orders_reruns_everything_but_the_raw_data():
    stale = stale_after(SalesReport(), edit="flows.sales.helpers.clean_orders")
    assert isinstance(stale, StaleTasks)
    assert stale.families == ALL_BUT_RAW
    assert {CleanSales(month=m) for m in MONTHS} <= stale
    assert not any(isinstance(t, RawSales) for t in stale)
    assert stale.reasons[CleanSales(month="2024-01")] == (
        "code changed: flows.sales.helpers.clean_orders")
    assert stale.reasons[MonthlySummary(month="2024-01")] == (
        "upstream changed: CleanSales(month=2024-01, min_quantity=1)")
    assert len(stale) == 8


def test_editing_summarise_skips_the_cleaning():
    stale = stale_after(SalesReport(), edit={"flows.sales.helpers.summarise": summarise})
    assert stale.families == {"MonthlySummary", "AllMonths", "SalesReport"}
    assert stale == {*(MonthlySummary(month=m) for m in MONTHS), AllMonths(), SalesReport()}


def test_comments_docstrings_and_formatting_rerun_nothing():
    source = inspect.getsource(helpers.clean_orders)
    cosmetic = source.replace('"""Orders with a usable quantity and price, typed."""',
                              '"""Reworded."""  # and a comment').replace(
        "df = df.copy()", "df = (\n        df.copy()\n    )")
    assert cosmetic != source
    assert stale_after(SalesReport(), edit={"flows.sales.helpers.clean_orders": cosmetic}) == set()
    assert stale_after(SalesReport(), edit={"flows.sales.helpers.summarise": helpers.summarise}
                       ) == set()


def test_a_real_change_given_as_source_text():
    source = inspect.getsource(helpers.summarise).replace('("quantity", "sum")',
                                                          '("quantity", "max")')
    stale = stale_after(MonthlySummary(month="2024-02"),
                        edit={"flows.sales.helpers.summarise": source})
    assert stale == {MonthlySummary(month="2024-02")}


def test_constants_count_by_value_wherever_they_are_imported():
    root = SalesReport()
    assert stale_after(root, edit={"flows.sales.helpers.CURRENCY": "USD"}) == {root}
    assert stale_after(root, edit={"flows.sales.tasks.CURRENCY": "USD"}) == {root}
    assert stale_after(root, edit={"flows.sales.helpers.CURRENCY": "EUR"}) == set()


def test_a_method_edit_changes_its_class():
    new_run = """
        def run(self):
            self.write(summarise(self.input().read()))
    """
    stale = stale_after(SalesReport(), edit={"flows.sales.tasks.MonthlySummary.run": new_run})
    assert stale.families == {"MonthlySummary", "AllMonths", "SalesReport"}
    assert stale.reasons[MonthlySummary(month="2024-03")] == (
        "code changed: flows.sales.tasks.MonthlySummary")
    unchanged = inspect.getsource(MonthlySummary.run)
    assert stale_after(SalesReport(),
                       edit={"flows.sales.tasks.MonthlySummary.run": unchanged}) == set()


def test_class_attributes_and_external_tasks():
    assert stale_after(SalesReport(), edit="flows.sales.tasks.AllMonths.months").families == {
        "AllMonths", "SalesReport"}
    # RawSales is external: it never reruns, but what reads it does
    assert stale_after(SalesReport(), edit="flows.sales.tasks.RawSales").families == ALL_BUT_RAW


def test_library_upgrades():
    stale = stale_after(SalesReport(), libraries={"pandas": "99.0"})
    assert stale.families == ALL_BUT_RAW
    assert stale.reasons[AllMonths()].startswith("library changed: pandas ")
    assert stale.reasons[SalesReport()].startswith("upstream changed: AllMonths")


def test_several_edits_and_whole_modules():
    both = stale_after(SalesReport(), edit=["flows.sales.helpers.summarise",
                                            "flows.sales.helpers.CURRENCY"])
    assert both.families == {"MonthlySummary", "AllMonths", "SalesReport"}
    assert stale_after(CleanSales(month="2024-01"),
                       edit={"flows.sales.helpers": ANY_CHANGE}) == {CleanSales(month="2024-01")}
    assert "CleanSales(month=2024-01, min_quantity=1): code changed" in stale_after(
        CleanSales(month="2024-01"), edit="flows.sales.helpers.clean_orders").format()


@pytest.mark.parametrize("edit, message", [
    ("flows.sales.helpers.no_such_function", "no attribute 'no_such_function'"),
    ("nosuchpackage.f", "cannot import"),
    ("pandas.concat", "library code"),
    ({"flows.sales.helpers": "x = 1"}, "is a module"),
    ({"flows.sales.helpers.summarise": "def a(): pass\ndef b(): pass"}, "exactly one def"),
    ({"flows.sales.helpers.summarise": len}, "source text or a function"),
])
def test_mistakes_are_named(edit, message):
    with pytest.raises(ValueError, match=message):
        stale_after(SalesReport(), edit=edit)


# ------------------------------------------------------- checked against a real build
_copies = itertools.count()


@pytest.fixture
def built_copy(tmp_path, working_dir, prefect_server, monkeypatch):
    """A copy of the sales example as package ``salescopyN``, built for real."""
    name = f"salescopy{next(_copies)}"
    package = tmp_path / "src" / name
    shutil.copytree(ROOT / "flows" / "sales", package,
                    ignore=shutil.ignore_patterns("__pycache__", "flow.py"))
    for module in package.glob("*.py"):
        module.write_text(module.read_text().replace("flows.sales", name))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    tasks = __import__(f"{name}.tasks", fromlist=["SalesReport"])
    root = tasks.SalesReport()
    summary = luisy.build(root, workers=2)
    assert summary.ok and len(summary.completed) == 8
    yield name, package, root
    for mod in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[mod]


def edit_file(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("unit, old, new", [
    ("helpers.clean_orders", 'df["revenue"] = df["quantity"] * df["unit_price"]',
     'df["revenue"] = (df["quantity"] * df["unit_price"]).round(2)'),
    ("helpers.summarise", '("order_id", "count")', '("order_id", "nunique")'),
    ("helpers.summarise", '    return (', '    # grouped per region and product\n    return ('),
    ("tasks.AllMonths.preprocess", 'df.sort_values(["month", "region", "product"])',
     'df.sort_values(["month", "product", "region"])'),
], ids=["clean_orders", "summarise", "summarise-comment-only", "AllMonths.preprocess"])
def test_prediction_matches_the_plan_after_the_real_edit(built_copy, unit, old, new):
    name, package, root = built_copy
    module, _, qualname = unit.partition(".")
    obj = sys.modules[f"{name}.{module}"]
    for part in qualname.split("."):
        obj = getattr(obj, part)
    edited = textwrap.dedent(inspect.getsource(obj)).replace(old.strip(), new.strip())
    predicted = stale_after(root, edit={f"{name}.{unit}": edited})

    edit_file(package / f"{module}.py", old, new)
    clear_cache()
    plan = make_plan(root)
    assert {s.task for s in plan.to_run} == set(predicted)
    assert {s.task: s.reason for s in plan.to_run} == predicted.reasons
    if "comment" in new:
        assert predicted == set()
