"""Reruns follow data (issue 16): files, folders and parquet parts delivered from outside.

Every test delivers real files as another system would (pandas, ``os.utime``, no luisy), builds
with a real Prefect server, and asserts what the plan says and what ran.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from dv_tasks import (
    CleanSales,
    CountDeliveries,
    Deliveries,
    Marked,
    Parts,
    RawSales,
    SalesReport,
    Stamped,
    SumParts,
    Unversioned,
    Uses,
    write_csv,
)

import luisy
from luisy import cli
from luisy.cache import data_version
from luisy.planner import Decision

pytestmark = pytest.mark.usefixtures("prefect_server")

JAN, FEB = CleanSales(month="2024-01"), CleanSales(month="2024-02")
UP_TO_DATE = ("complete", "up to date")


def decisions(task) -> dict[str, tuple[str, str]]:
    return {str(s.task): (s.decision.value, s.reason) for s in luisy.plan(task).steps.values()}


def ran(task, **kwargs) -> set[str]:
    summary = luisy.build(task, **kwargs)
    assert summary.ok, summary
    return {str(t) for t in summary.completed}


@pytest.fixture
def reads(monkeypatch):
    """The files whose bytes luisy reads to version them (the real reader, counted)."""
    seen: list[str] = []
    real = data_version.file_digest

    def counted(path):
        seen.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(data_version, "file_digest", counted)
    return seen


@pytest.fixture
def sales(working_dir):
    """Both months delivered and built once."""
    write_csv(RawSales(month="2024-01"), [1, 2, 3])
    write_csv(RawSales(month="2024-02"), [10, 20])
    assert ran(SalesReport()) == {str(JAN), str(FEB), "SalesReport()"}
    return working_dir


def test_a_changed_file_reruns_exactly_its_readers_and_what_depends_on_them(sales):
    assert ran(SalesReport()) == set()
    write_csv(RawSales(month="2024-01"), [1, 2, 3, 4])

    plan = decisions(SalesReport())
    assert plan[str(JAN)] == ("run", "data changed: RawSales(month=2024-01)")
    assert plan["SalesReport()"] == ("run", f"upstream changed: {JAN}")
    assert plan[str(FEB)] == UP_TO_DATE
    assert ran(SalesReport()) == {str(JAN), "SalesReport()"}
    assert SalesReport().read() == {"2024-01": 10.0, "2024-02": 30.0}
    assert ran(SalesReport()) == set()


def test_the_cli_table_names_the_changed_data(sales):
    write_csv(RawSales(month="2024-02"), [5])
    out = io.StringIO()
    code = cli.main(["--module", "dv_tasks", "SalesReport", "--working-dir", str(sales),
                     "--dry-run", "--show-complete"], out=out)
    assert code == 0, out.getvalue()
    lines = {line.split()[0]: line for line in out.getvalue().splitlines() if line.strip()}
    assert "data changed: RawSales(month=2024-02)" in lines[str(FEB)]
    assert f"upstream changed: {FEB}" in lines["SalesReport()"]


def test_a_touch_reads_the_file_once_and_reruns_nothing(sales, reads):
    decisions(SalesReport())
    assert reads == []  # size and mtime as recorded: nothing is read
    path = RawSales(month="2024-01").output().path
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))

    assert ran(SalesReport()) == set()
    assert reads == [os.path.basename(path)]  # read once: same bytes, same version
    reads.clear()
    assert decisions(SalesReport())[str(JAN)] == UP_TO_DATE
    assert reads == []  # the new mtime was recorded by that build


def test_after_one_file_changed_only_that_file_is_read(sales, reads):
    write_csv(RawSales(month="2024-02"), [7, 7])
    assert decisions(SalesReport())[str(FEB)][0] == "run"
    assert reads == [os.path.basename(RawSales(month="2024-02").output().path)]


def test_by_hand_complete_follows_the_data_as_builds_do(sales):
    assert JAN.complete()
    write_csv(RawSales(month="2024-01"), [100])
    assert not JAN.complete()
    JAN.run()  # luisy 1.x's way: by hand; its write records the key with this data
    assert JAN.complete()
    assert decisions(SalesReport())[str(JAN)] == UP_TO_DATE


def test_a_folder_follows_its_files(working_dir):
    folder = Deliveries().output().path
    os.makedirs(folder)
    for name, text in (("a.txt", "apples"), ("b.txt", "bananas")):
        with open(os.path.join(folder, name), "w") as fh:
            fh.write(text)
    assert ran(CountDeliveries()) == {"CountDeliveries()"}

    os.utime(os.path.join(folder, "a.txt"), ns=(1, 10**18))
    assert ran(CountDeliveries()) == set()

    with open(os.path.join(folder, "c.txt"), "w") as fh:
        fh.write("cherries")
    assert decisions(CountDeliveries())["CountDeliveries()"] == (
        "run", "data changed: Deliveries()")
    assert ran(CountDeliveries()) == {"CountDeliveries()"}
    assert CountDeliveries().read() == ["apples", "bananas", "cherries"]

    os.remove(os.path.join(folder, "b.txt"))
    assert ran(CountDeliveries()) == {"CountDeliveries()"}
    assert CountDeliveries().read() == ["apples", "cherries"]


def test_a_folder_of_parquet_parts_follows_its_parts(working_dir):
    folder = Parts().output().path
    os.makedirs(folder)
    pd.DataFrame({"x": [1, 2]}).to_parquet(os.path.join(folder, "part-0.parquet"))
    pd.DataFrame({"x": [3]}).to_parquet(os.path.join(folder, "part-1.parquet"))
    assert ran(SumParts()) == {"SumParts()"}
    assert ran(SumParts()) == set()

    pd.DataFrame({"x": [30]}).to_parquet(os.path.join(folder, "part-1.parquet"))
    assert decisions(SumParts())["SumParts()"] == ("run", "data changed: Parts()")
    assert ran(SumParts()) == {"SumParts()"}
    assert SumParts().read() == 33


def test_mtime_mode_reruns_on_a_touch_without_reading(working_dir, reads):
    path = write_csv(Stamped(), [1])
    assert ran(Uses(source="mtime")) == {"Uses(source=mtime)"}
    os.utime(path, ns=(1, os.stat(path).st_mtime_ns + 10**9))
    assert decisions(Uses(source="mtime"))["Uses(source=mtime)"] == (
        "run", "data changed: Stamped()")
    assert reads == []


def test_none_mode_is_luisy_1x_reruns_follow_code_only(working_dir):
    write_csv(Unversioned(), [1])
    assert ran(Uses(source="none")) == {"Uses(source=none)"}
    write_csv(Unversioned(), [1, 2, 3])
    assert ran(Uses(source="none")) == set()
    assert Uses(source="none").read() == 1  # the stale result 1.x would have kept


def test_a_user_function_is_the_version(working_dir):
    write_csv(Marked(), [1])
    marker = os.path.join(os.path.dirname(Marked().output().path), "READY")
    with open(marker, "w") as fh:
        fh.write("batch-1")
    assert ran(Uses(source="marker")) == {"Uses(source=marker)"}

    write_csv(Marked(), [1, 1])  # new bytes, same marker: the user said this is one version
    assert ran(Uses(source="marker")) == set()
    with open(marker, "w") as fh:
        fh.write("batch-2")
    assert decisions(Uses(source="marker"))["Uses(source=marker)"] == (
        "run", "data changed: Marked()")
    assert ran(Uses(source="marker")) == {"Uses(source=marker)"}
    assert Uses(source="marker").read() == 2


def test_a_failing_version_function_is_one_line_naming_the_task(working_dir, monkeypatch):
    write_csv(Marked(), [1])

    def broken(task):
        raise OSError("the share is offline")

    monkeypatch.setattr(Marked, "data_version_mode", staticmethod(broken))
    plan = luisy.plan(Uses(source="marker"))
    step = plan.steps[Marked()]
    assert step.decision is Decision.CANNOT_CHECK
    assert step.reason == ("cannot check its output: Marked(): its data_version function "
                           "failed: OSError: the share is offline")
    summary = luisy.build(Uses(source="marker"))
    assert not summary.ok and summary.completed == set()


def _store_details(working_dir) -> dict:
    with open(os.path.join(working_dir, "dvtest", ".luisy.keys.json")) as fh:
        return json.load(fh)["outputs"]


def test_a_working_dir_built_before_data_versions_is_adopted_not_rebuilt(working_dir,
                                                                         monkeypatch):
    write_csv(RawSales(month="2024-01"), [1, 2, 3])
    write_csv(RawSales(month="2024-02"), [10, 20])
    # built as luisy did before data versions: no version in any key (the same keys luisy
    # computed then), and records without the "data" field, which luisy did not write then
    monkeypatch.setattr(RawSales, "data_version_mode", "none")
    assert ran(SalesReport()) == {str(JAN), str(FEB), "SalesReport()"}
    monkeypatch.undo()
    store = Path(working_dir, "dvtest")
    details = json.loads((store / ".luisy.keys.json").read_text())
    for entry in details["outputs"].values():
        del entry["data"]
    (store / ".luisy.keys.json").write_text(json.dumps(details))
    before = {p.name: p.read_bytes() for p in sorted(store.glob(".luisy*"))}

    plan = decisions(SalesReport())
    adopted = ("complete", "up to date (made before data versions: their versions now are "
               "recorded)")
    assert plan[str(JAN)] == plan[str(FEB)] == plan["SalesReport()"] == adopted
    assert ran(SalesReport(), dry_run=True) == set()
    assert {p.name: p.read_bytes() for p in sorted(store.glob(".luisy*"))} == before

    assert ran(SalesReport()) == set()  # adopted: versions recorded, nothing rebuilt
    details = _store_details(working_dir)
    jan = next(v for k, v in details.items() if k.endswith(os.path.basename(JAN.output().path)))
    assert jan["data"] == {"RawSales(month=2024-01)": data_version.observe(
        RawSales(month="2024-01"), RawSales(month="2024-01").output()).version}
    assert "content" in jan  # the checksum recorded with the old key is kept
    assert decisions(SalesReport())[str(JAN)] == UP_TO_DATE

    write_csv(RawSales(month="2024-01"), [4])
    assert ran(SalesReport()) == {str(JAN), "SalesReport()"}


def test_the_plan_artifact_and_the_dag_show_data_changes(sales):
    from luisy.artifacts import dag_markdown
    from luisy.visualize import COLOURS, LEGEND, plan_rows, to_svg

    write_csv(RawSales(month="2024-01"), [9])
    plan = luisy.plan(SalesReport())
    rows = {row["task"]: row for row in plan_rows(plan)}
    assert rows[str(JAN)]["decision"] == "run"
    assert rows[str(JAN)]["reason"] == "data changed: RawSales(month=2024-01)"
    svg = to_svg(plan)
    assert COLOURS["data changed"] in svg
    assert LEGEND["data changed"] in svg
    assert "`data changed`" in dag_markdown(plan)


def test_a_luisy_1x_working_dir_adopted_in_hash_update_mode_records_data_versions(
        working_dir):
    write_csv(RawSales(month="2024-01"), [1, 2])
    write_csv(RawSales(month="2024-02"), [3])
    for task in (JAN, FEB):  # outputs and 1.x keys, as luisy 1.x left them
        task.output().write(0.0)
    SalesReport().output().write({})
    store = Path(working_dir, "dvtest")
    (store / ".luisy.hash").write_text(json.dumps({
        "/" + os.path.relpath(t.output().path, working_dir): "1x-hash"
        for t in (JAN, FEB, SalesReport())}))
    summary = luisy.build(SalesReport(), hash_update_mode=True)
    assert summary.ok and {str(t) for t in summary.adopted} == {
        str(JAN), str(FEB), "SalesReport()"}
    assert decisions(SalesReport())[str(JAN)] == UP_TO_DATE

    write_csv(RawSales(month="2024-02"), [30])
    assert ran(SalesReport()) == {str(FEB), "SalesReport()"}
