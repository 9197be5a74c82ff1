"""Outputs changed behind luisy's back: a checksum recorded with each key, ``luisy verify``
naming the changed file, ``build(verify=True)`` rerunning it (on real files)."""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys

import pytest

import luisy
from luisy import cli
from luisy.cache import Category, Reason
from luisy.planner import make_plan

MODULE = "verify_tasks"

TASKS = '''
import pandas as pd

import luisy


@luisy.project_name("verify")
@luisy.raw
@luisy.csv_output
class Sales(luisy.Task):
    def run(self):
        self.write(pd.DataFrame({"day": list(range(50)), "amount": [10] * 50}))


@luisy.project_name("verify")
@luisy.raw
class Prices(luisy.Task):
    def run(self):
        self.write({"price": 2})


@luisy.project_name("verify")
@luisy.interim
@luisy.requires(Sales)
class Totals(luisy.Task):
    def run(self):
        self.write({"total": int(self.input().read()["amount"].sum())})


@luisy.project_name("verify")
@luisy.final
@luisy.requires(Totals, Prices)
class Report(luisy.Task):
    def run(self):
        totals, prices = (t.read() for t in self.input())
        self.write({"revenue": totals["total"] * prices["price"]})


@luisy.project_name("verify")
@luisy.interim
class Appended(luisy.Task):
    """Writes through self.write(), then adds to the file itself (pickle.load stops at the
    pickle's end): the bytes recorded are the ones there at the end."""
    def run(self):
        self.write({"a": 1})
        with open(self.output().path, "ab") as fh:
            fh.write(b"and a tail")


@luisy.project_name("verify")
@luisy.interim
@luisy.parquetdir_output(outdir="parts")
class Parts(luisy.Task):
    def run(self):
        self.write(pd.DataFrame({"a": [1, 2, 3]}))
'''


@pytest.fixture
def tasks(tmp_path, monkeypatch):
    """The tasks' module, importable from the current dir (as the command imports it)."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / f"{MODULE}.py").write_text(TASKS)
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))
    yield importlib.import_module(MODULE)
    sys.modules.pop(MODULE, None)


def _run_by_hand(*tasks):
    """As luisy 1.x users do: ``run()`` by hand, dependencies first."""
    for task in tasks:
        task.run()


def _truncate(path: str) -> None:
    with open(path, "rb") as fh:
        data = fh.read()
    with open(path, "wb") as fh:
        fh.write(data[: len(data) // 2])


def _details(working_dir, rel: str) -> dict:
    with open(working_dir / "verify" / ".luisy.keys.json", encoding="utf-8") as fh:
        return json.load(fh)["outputs"][rel]


def _verify_cli(task_name: str, working_dir, capsys) -> tuple[int, str]:
    code = cli.main(["verify", "--module", MODULE, task_name, "--working-dir", str(working_dir)])
    return code, capsys.readouterr().out


def _snapshot(folder) -> dict[str, tuple[bytes, int]]:
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as fh:
                found[path] = (fh.read(), os.stat(path).st_mtime_ns)
    return found


def test_a_by_hand_write_records_the_checksum_of_its_bytes(tasks, working_dir):
    tasks.Sales().run()
    path = tasks.Sales().output().path
    with open(path, "rb") as fh:
        expected = "sha256:" + hashlib.sha256(fh.read()).hexdigest()
    assert _details(working_dir, "/verify/raw/Sales.csv")["content"] == expected
    with open(working_dir / "verify" / ".luisy.hash", encoding="utf-8") as fh:
        assert all(isinstance(v, str) for v in json.load(fh).values())  # 1.x's shape


def _sha256(path) -> str:
    with open(path, "rb") as fh:
        return "sha256:" + hashlib.sha256(fh.read()).hexdigest()


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("by_hand", [False, True], ids=["build", "by hand"])
def test_the_checksum_a_write_takes_on_the_way_is_of_the_bytes_on_disk(tasks, working_dir,
                                                                       by_hand):
    """A pickle write hashes its bytes as it goes: nothing is read back for the checksum."""
    task = tasks.Prices()
    if by_hand:
        task.run()
    else:
        assert luisy.build(task).ok
    assert _details(working_dir, "/verify/raw/Prices.pkl")["content"] == \
        _sha256(task.output().path)


@pytest.mark.usefixtures("prefect_server")
def test_a_run_that_changes_its_file_after_the_write_records_the_bytes_at_its_end(
        tasks, working_dir, capsys):
    task = tasks.Appended()
    assert luisy.build(task).ok
    assert _details(working_dir, "/verify/interim/Appended.pkl")["content"] == \
        _sha256(task.output().path)
    assert task.read() == {"a": 1}
    assert _verify_cli("Appended", working_dir, capsys)[0] == 0


def test_a_truncated_csv_reads_without_error_but_verify_names_it(tasks, working_dir, capsys):
    _run_by_hand(tasks.Sales(), tasks.Prices(), tasks.Totals(), tasks.Report())
    assert luisy.verify(tasks.Report()) == []
    path = tasks.Sales().output().path
    _truncate(path)
    assert len(tasks.Sales().read()) < 50  # read today without error

    mismatches = luisy.verify(tasks.Report())
    assert [(m.task, m.path) for m in mismatches] == [(tasks.Sales(), path)]
    assert mismatches[0].recorded != mismatches[0].found
    assert mismatches[0].found.startswith("sha256:")

    code, out = _verify_cli("Report", working_dir, capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"changed behind luisy's back: {path} (Sales()): recorded sha256:")
    assert lines[1] == ("-- 4 output(s) checked: 1 changed, 3 unchanged; "
                        "0 not checkable (no checksum recorded)")


def test_verify_plans_nothing_extra_without_the_flag(tasks):
    _run_by_hand(tasks.Sales(), tasks.Prices(), tasks.Totals(), tasks.Report())
    _truncate(tasks.Sales().output().path)
    assert make_plan(tasks.Report()).to_run == []  # keys only: nothing is read
    plan = make_plan(tasks.Report(), verify=True)
    assert {s.task: s.reasons for s in plan.to_run} == {
        tasks.Sales(): (Reason(Category.CHANGED_OUTPUT, (tasks.Sales().output().path,)),),
        tasks.Totals(): (Reason(Category.CHANGED_UPSTREAM, ("Sales()",)),),
        tasks.Report(): (Reason(Category.CHANGED_UPSTREAM, ("Totals()",)),),
    }
    assert "output changed outside luisy: " in plan.format()


def test_a_folder_output_with_a_file_added_is_found(tasks, working_dir, capsys):
    tasks.Parts().run()
    assert _details(working_dir, "/verify/interim/parts")["content"].startswith("sha256:")
    assert luisy.verify(tasks.Parts()) == []
    folder = tasks.Parts().output().path
    with open(os.path.join(folder, "part-00001.parquet"), "wb") as fh:
        fh.write(b"not from luisy")
    assert [m.path for m in luisy.verify(tasks.Parts())] == [folder]
    code, out = _verify_cli("Parts", working_dir, capsys)
    assert code == 1 and f"changed behind luisy's back: {folder} (Parts())" in out


def test_an_old_store_without_checksums_is_not_checkable_and_no_mismatch(tasks, working_dir,
                                                                          capsys):
    _run_by_hand(tasks.Sales(), tasks.Prices(), tasks.Totals(), tasks.Report())
    details = working_dir / "verify" / ".luisy.keys.json"
    stored = json.loads(details.read_text(encoding="utf-8"))
    for entry in stored["outputs"].values():
        del entry["content"]
    details.write_text(json.dumps(stored), encoding="utf-8")
    _truncate(tasks.Sales().output().path)

    assert luisy.verify(tasks.Report()) == []
    assert make_plan(tasks.Report(), verify=True).to_run == []
    code, out = _verify_cli("Report", working_dir, capsys)
    assert code == 0
    assert out.splitlines() == ["-- 0 output(s) checked: 0 changed, 0 unchanged; "
                                "4 not checkable (no checksum recorded)"]


def test_verify_modifies_no_file(tasks, working_dir, capsys):
    _run_by_hand(tasks.Sales(), tasks.Prices(), tasks.Totals(), tasks.Report())
    _truncate(tasks.Sales().output().path)
    before = _snapshot(working_dir)
    luisy.verify(tasks.Report())
    assert _verify_cli("Report", working_dir, capsys)[0] == 1
    assert _snapshot(working_dir) == before


@pytest.mark.usefixtures("prefect_server")
def test_a_verified_build_reruns_exactly_the_changed_output_and_its_users(tasks, working_dir,
                                                                          capsys):
    root = tasks.Report()
    assert luisy.build(root).ok
    _truncate(tasks.Sales().output().path)
    assert luisy.build(root).completed == set()  # keys only: the change is not seen

    summary = luisy.build(root, verify=True)
    assert summary.ok
    assert summary.completed == {tasks.Sales(), tasks.Totals(), root}
    assert root.read() == {"revenue": 1000}
    assert luisy.verify(root) == []
    assert _verify_cli("Report", working_dir, capsys) == (0, (
        "-- 4 output(s) checked: 0 changed, 4 unchanged; "
        "0 not checkable (no checksum recorded)\n"))
