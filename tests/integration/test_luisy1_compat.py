"""luisy 1.x pipelines run unchanged: what 1.x users wrote and read keeps working.

Each test is written against luisy 1.x's behaviour (``../shared/reference/luisy-1x-api.md``).
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import pytest
from compat_support.l1tasks import Both, ToyTask, UsesDelivery, WritesItsOwnFile

import luisy
from luisy.cli import build
from luisy.errors import RemoteError

pytestmark = pytest.mark.prefect

HERE = os.path.dirname(__file__)


@pytest.fixture(autouse=True)
def _server(prefect_server):
    yield


def test_build_returns_what_1x_returned_with_tasks_set(working_dir):
    result = build(Both(), workers=1)
    sets = result.tasks_set
    assert sets["completed"] == {Both(), ToyTask(), WritesItsOwnFile()}
    assert sets["failed"] == set() and sets["still_pending_ext"] == set()
    again = build(Both(), workers=1).tasks_set
    assert again["already_done"] == {Both()} and again["completed"] == set()


def test_output_folders_exist_before_run(working_dir):
    task = WritesItsOwnFile(a=2)
    assert luisy.build(task).ok
    with open(task.output().path, "rb") as fh:
        assert pickle.load(fh) == {"a": 2, "folder_existed": True}


def test_task_namespace_is_part_of_file_names_and_as_dict_keys(working_dir):
    assert ToyTask(a=1).output().path.endswith(os.path.join("interim", "ABC.ToyTask_a=1.csv"))
    assert str(ToyTask(a=1)) == "ABC.ToyTask(a=1)"
    assert set(Both().input()) == {"ABC.ToyTask", "WritesItsOwnFile"}
    assert luisy.build(Both()).ok
    assert Both().read() == {"ABC.ToyTask": "ABC.ToyTask_a=1.csv",
                             "WritesItsOwnFile": "WritesItsOwnFile_a=1.pkl"}


def test_python_m_luisy_with_1x_flags_and_its_closing_line(working_dir):
    run = subprocess.run(
        [sys.executable, "-m", "luisy", "--module", "compat_support.l1tasks", "Both",
         "--working-dir", str(working_dir), "--no-ask", "--local-scheduler"],
        capture_output=True, text=True, timeout=300, cwd=HERE,
        env={**os.environ, "PYTHONPATH": HERE})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "--local-scheduler is luigi's" in run.stderr
    console = run.stdout + run.stderr
    assert "hello from WritesItsOwnFile(a=1)" in console  # the task's print(), as in 1.x
    assert "Finished in state" not in console  # not Prefect's own lines
    assert run.stdout.rstrip().splitlines()[-1] == (
        "This progress looks :) because there were no failed tasks or missing dependencies")


def test_parameters_declared_with_luigi_work_as_luisys(working_dir):
    import luigi

    @luisy.project_name("l1proj")
    class WithLuigiParams(luisy.Task):
        a = luigi.IntParameter()
        b = luigi.Parameter(default="x", description="a name")
        c = luigi.IntParameter(default=7, significant=False)

        def run(self):
            self.write({"a": self.a, "b": self.b, "c": self.c})

    names = [n for n, _ in WithLuigiParams.get_params()]
    assert names == ["a", "b", "c"]
    params = dict(WithLuigiParams.get_params())
    assert params["b"].description == "a name" and not params["c"].significant
    task = WithLuigiParams(a=2)
    assert (task.a, task.b, task.c) == (2, "x", 7)
    assert WithLuigiParams.from_str_params({"a": "5"}).a == 5
    assert os.path.basename(task.output().path) == "WithLuigiParams_a=2_b=x.pkl"
    with pytest.raises(luisy.errors.ParameterError, match="a"):
        WithLuigiParams()


def test_a_luigi_parameter_luisy_cannot_use_is_a_clear_error():
    import enum

    import luigi

    class Colour(enum.Enum):
        RED = 1

    class WithEnum(luisy.Task):
        colour = luigi.EnumParameter(enum=Colour)

    with pytest.raises(luisy.errors.TaskDefinitionError,
                       match=r"WithEnum: parameter 'colour' is a luigi.EnumParameter"):
        WithEnum.get_params()


def test_1x_path_helpers(working_dir):
    from luisy import config, helpers

    inside = os.path.join(str(working_dir), "proj", "raw", "x.pkl")
    assert config.remove_working_dir(inside) == "/proj/raw/x.pkl"
    assert config.add_working_dir("/proj/raw/x.pkl") == inside
    assert helpers.change_working_dir(inside, str(working_dir), "/mnt/d") == "/mnt/d/proj/raw/x.pkl"
    with pytest.raises(ValueError, match="is not inside"):
        config.change_working_dir("/elsewhere/x.pkl", str(working_dir), "/mnt/d")
    assert helpers.get_string_repr(["a b", {"k": 1}, "c/d"]) == "a_b_k_c_d"


def test_1x_import_paths_and_names():
    from luisy.cli import luisy_run
    from luisy.decorators import (
        azure_blob_storage_input,
        azure_blob_storage_output,
        deltatable_input,
        deltatable_output,
    )
    from luisy.targets import LocalTarget, LuisyTarget, SparkTarget
    from luisy.tasks.base import SparkTask
    from luisy.visualize import simple_task_string, unique_types

    assert deltatable_output is luisy.deltatable_output
    assert deltatable_input is luisy.deltatable_input
    assert azure_blob_storage_input is luisy.azure_blob_storage_input
    assert azure_blob_storage_output is luisy.azure_blob_storage_output
    assert LuisyTarget is LocalTarget and SparkTarget.__name__ == "SparkTarget"
    assert SparkTask is luisy.SparkTask and callable(luisy_run)
    assert simple_task_string(ToyTask(a=1)) == "ABC.ToyTask\n(a=1)"
    assert unique_types([ToyTask(a=1), ToyTask(a=2), Both()]) == [ToyTask(a=1), Both()]


def _delivered(working_dir) -> None:
    folder = os.path.join(str(working_dir), "l1proj", "raw")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "delivered.csv"), "w") as fh:
        fh.write("x\n1\n2\n")


def test_luisy_hash_in_1x_spelling_with_external_entries(working_dir):
    _delivered(working_dir)
    assert luisy.build(UsesDelivery()).ok
    with open(os.path.join(str(working_dir), "l1proj", ".luisy.hash")) as fh:
        hashes = json.load(fh)
    assert set(hashes) == {"/l1proj/raw/delivered.csv", "/l1proj/final/UsesDelivery.pkl"}
    assert UsesDelivery().read() == 2


def test_hash_update_mode_leaves_one_entry_per_output(working_dir):
    """A 1.x dir adopted by an earlier luisy 2 has both spellings: one entry each after."""
    _delivered(working_dir)
    assert luisy.build(UsesDelivery()).ok
    path = os.path.join(str(working_dir), "l1proj", ".luisy.hash")
    with open(path) as fh:
        current = json.load(fh)
    both = {"/l1proj/final/UsesDelivery.pkl": "0" * 32,  # 1.x's
            "l1proj/final/UsesDelivery.pkl": current["/l1proj/final/UsesDelivery.pkl"]}
    with open(path, "w") as fh:
        json.dump(both, fh)
    summary = luisy.build(UsesDelivery(), hash_update_mode=True)
    assert summary.ok and not summary.completed
    with open(path) as fh:
        hashes = json.load(fh)
    assert hashes == current
    assert luisy.build(UsesDelivery()).completed == set()


def test_external_data_delivered_by_hand_reads_before_any_build(working_dir):
    from compat_support.l1tasks import Delivered

    assert not Delivered().complete()
    _delivered(working_dir)
    assert Delivered().complete()
    assert Delivered().read()["x"].tolist() == [1, 2]


def test_1x_command_line_helpers_and_setting_flags(working_dir, monkeypatch, capsys):
    from luisy import cli, config

    options, rest = cli.parse_args(["luisy", "--module", "m", "Task", "--a", "1",
                                    "--azure-storage-key=abc", "--no-ask"])
    assert options == {"download": False, "upload": False, "dry_run": False, "no_ask": True,
                       "hash_update_mode": False, "azure_storage_key": "abc"}
    assert rest == ["luisy", "--module", "m", "Task", "--a", "1"]
    config.pass_args({"no_ask": True})
    assert luisy.Config().get_param("no_ask") is True
    monkeypatch.syspath_prepend(HERE)
    code = cli.main(["--module", "compat_support.l1tasks", "ToyTask", "--a", "3",
                     "--working-dir", str(working_dir), "--dry-run",
                     "--azure-storage-key=abc", "--requirements-path", "req.txt"])
    assert code == 0, capsys.readouterr()


def test_clear_instance_cache_as_luigi_had_it():
    first = ToyTask(a=5)
    assert ToyTask(a=5) is first
    ToyTask.clear_instance_cache()
    assert ToyTask(a=5) is not first and ToyTask(a=5) == first


def test_cloud_sync_without_a_remote_is_one_clear_line(working_dir):
    """1.x's --download needed its Azure settings; without any remote nothing runs."""
    with pytest.raises(RemoteError) as caught:
        luisy.build(WritesItsOwnFile(a=9), download=True)
    assert str(caught.value).startswith("download: no remote is set; give --remote URL")
    assert not WritesItsOwnFile(a=9).output().exists()
