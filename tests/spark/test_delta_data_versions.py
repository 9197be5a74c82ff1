"""Reruns follow Delta tables (issue 16), on the embedded engine with real Delta tables.

- the seed page's raw table gets new rows (version 0 -> 1, 3 -> 5 rows): TaskA reruns, and
  what depends on it;
- a pinned input (``version_as_of``) reads its version whatever is written later;
- a table a task wrote, rewritten outside luisy: its readers rerun, its writer does not;
- partitions: a write to another partition reruns nothing of this one;
- an ExternalTask's Delta table: its version is part of its readers' keys.
"""
from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from sparktest_tasks import RAW, TaskA, TaskC, seed_raw

import luisy
from luisy import Config
from luisy.tasks.base import SparkTask

pytestmark = pytest.mark.usefixtures("prefect_server", "on_embedded")

project = luisy.project_name("deltaversions")
MORE = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [10, 20, 30, 40, 50],
                     "c": ["x", "y", "z", "u", "v"]})


def decisions(task) -> dict[str, tuple[str, str]]:
    return {str(s.task): (s.decision.value, s.reason) for s in luisy.plan(task).steps.values()}


def ran(task) -> set[str]:
    summary = luisy.build(task, cloud_mode=True)
    assert summary.ok, summary.errors
    return {str(t) for t in summary.completed}


def table(name: str, **kwargs):
    from luisy.targets.delta import DeltaTableTarget

    return DeltaTableTarget(catalog="my_catalog", schema="my_schema", table_name=name, **kwargs)


def recorded(working_dir, task) -> dict:
    """What the store holds about ``task``'s output (after the build's compaction)."""
    with open(os.path.join(working_dir, task.get_project_name(), ".luisy.keys.json")) as fh:
        outputs = json.load(fh)["outputs"]
    rel = os.path.relpath(task.output().path, working_dir)
    return outputs["/" + rel]


# ------------------------------------------------------------------- the seed page's tables
@pytest.mark.parametrize("storage", ["path", "catalog"])
def test_new_rows_in_the_raw_table_rerun_the_tutorial_pipeline(working_dir, storage):
    Config().set_param("delta_storage", storage)
    seed_raw()
    assert ran(TaskC()) == {"TaskA()", "TaskB()", "TaskC()"}
    assert ran(TaskC()) == set()

    seed_raw(MORE)  # version 0 -> 1, 3 -> 5 rows
    plan = decisions(TaskC())
    assert plan["TaskA()"] == ("run", "data changed: my_catalog.my_schema.raw")
    assert plan["TaskB()"] == ("run", "upstream changed: TaskA()")
    assert plan["TaskC()"] == ("run", "upstream changed: TaskB()")
    assert ran(TaskC()) == {"TaskA()", "TaskB()", "TaskC()"}
    assert len(TaskC().read()) == 5
    assert ran(TaskC()) == set()


def test_a_table_rewritten_outside_luisy_reruns_its_readers_not_its_writer(working_dir):
    seed_raw()
    assert ran(TaskC()) == {"TaskA()", "TaskB()", "TaskC()"}
    assert recorded(working_dir, TaskA())["data_version"].startswith("delta:v")

    table("interim").write(pd.DataFrame({"a": [7], "b": [70]}))  # by someone else
    plan = decisions(TaskC())
    assert plan["TaskA()"] == ("complete", "up to date")
    assert plan["TaskB()"] == ("run", "data changed: TaskA()")
    assert ran(TaskC()) == {"TaskB()", "TaskC()"}
    assert TaskC().read()["a"].tolist() == [7]
    assert ran(TaskC()) == set()


# ------------------------------------------------------------------------- a pinned input
@project
@luisy.deltatable_input(catalog="my_catalog", schema="my_schema", table_name="raw",
                        version_as_of=0)
@luisy.final
@luisy.pickle_output
class FirstDelivery(SparkTask):
    def run(self):
        self.write(self.input().read().orderBy("a"))


def test_a_pinned_input_reads_its_version_and_records_it(working_dir):
    seed_raw()
    seed_raw(MORE)
    assert ran(FirstDelivery()) == {"FirstDelivery()"}
    assert FirstDelivery().read()["a"].tolist() == RAW["a"].tolist()  # version 0: 3 rows
    assert recorded(working_dir, FirstDelivery())["data"] == {
        "my_catalog.my_schema.raw": "delta:v0"}
    seed_raw(RAW.head(1))  # version 2: the pinned input does not change
    assert ran(FirstDelivery()) == set()


def test_a_bad_pin_is_refused_naming_the_table():
    from luisy.targets.delta import DeltaOptionsError

    with pytest.raises(DeltaOptionsError, match=r"my_catalog\.my_schema\.raw: version_as_of "
                                                 r"must be a table version"):
        luisy.deltatable_input(catalog="my_catalog", schema="my_schema", table_name="raw",
                               version_as_of="latest")


# --------------------------------------------------------------------------- partitions
@project
@luisy.deltatable_output(catalog="c", schema="s", table_name="monthly", partition_by="month")
class Monthly(SparkTask):
    month = luisy.MonthParameter()

    def run(self):
        self.write(pd.DataFrame({"v": [self.month.month]}))


@project
@luisy.requires(Monthly)
@luisy.interim
class MonthTotal(SparkTask):
    def run(self):
        self.write(int(self.input().read().toPandas()["v"].sum()))


def test_a_write_to_another_partition_reruns_nothing_of_this_one(working_dir):
    jan, feb = MonthTotal(month="2024-01"), MonthTotal(month="2024-02")
    assert ran(jan) == {"Monthly(month=2024-01)", str(jan)}
    assert ran(feb) == {"Monthly(month=2024-02)", str(feb)}  # a write to the same table
    assert ran(jan) == set()

    target = Monthly(month="2024-02").output()
    target.write(pd.DataFrame({"v": [20, 30]}))  # February rewritten outside luisy
    assert decisions(feb)[str(feb)] == ("run", "data changed: Monthly(month=2024-02)")
    assert decisions(jan)[str(jan)] == ("complete", "up to date")
    assert ran(feb) == {str(feb)}
    assert feb.read() == 50


# ------------------------------------------------------------------ an external Delta table
@project
@luisy.deltatable_output(catalog="my_catalog", schema="my_schema", table_name="raw")
class RawTable(luisy.ExternalTask):
    pass


@project
@luisy.requires(RawTable)
@luisy.interim
class RowCount(SparkTask):
    def run(self):
        self.write(self.input().read().count())


def test_an_external_tables_version_is_part_of_its_readers_keys(working_dir):
    seed_raw()
    assert ran(RowCount()) == {"RowCount()"}
    assert ran(RowCount()) == set()
    seed_raw(MORE)
    assert decisions(RowCount())["RowCount()"] == ("run", "data changed: RawTable()")
    assert ran(RowCount()) == {"RowCount()"}
    assert RowCount().read() == 5
