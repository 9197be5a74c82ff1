"""The task model: identity, caching, parameters on tasks, wiring and the methods users call."""
from __future__ import annotations

import datetime as dt
import os
import threading

import pandas as pd
import pytest
from sample_project.params import AllParams, Positional
from sample_project.pipeline import (
    Both,
    BothDict,
    Cleaned,
    Concat,
    Counted,
    Inheriting,
    Part,
    RequiresSet,
    Source,
    Wrapped,
    WrappedDict,
    Yielding,
)

import luisy
from luisy.errors import ParameterError, TargetError, TaskDefinitionError, TaskNotCompleteError
from luisy.tasks.base import flatten


# ------------------------------------------------------------------------------ identity
def test_equal_parameters_give_the_same_instance():
    first = AllParams(count=4, items=[1, 2])
    assert AllParams(count=4, items=(1, 2)) is first
    assert AllParams(count="4", items="[1, 2]") is first
    assert AllParams(count=5) is not first
    assert AllParams(count=5) != first


def test_identity_is_class_plus_significant_values():
    assert Cleaned() == Cleaned(factor=2, region="north")
    assert Cleaned() != Cleaned(factor=3)
    assert Cleaned() != Cleaned(region="south")
    # same parameters, other class: another task
    assert Source(region="north") != Cleaned(region="north")

    class SubCleaned(Cleaned):
        pass

    assert SubCleaned() != Cleaned()
    assert len({Cleaned(), Cleaned(factor=2), SubCleaned(), Cleaned(factor=3)}) == 3
    assert Cleaned() != "Cleaned(region=north, factor=2)"


def test_task_id_and_repr():
    task = Cleaned(factor=5)
    assert task.task_id == "Cleaned(region=north, factor=5)"
    assert repr(task) == str(task) == task.task_id
    assert Cleaned.get_task_family() == "Cleaned"


def test_instance_cache_is_thread_safe():
    results = []
    barrier = threading.Barrier(8)

    def make():
        barrier.wait()
        results.append(AllParams(count=12345, items=[9, 9]))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(r) for r in results}) == 1


def test_params_in_declaration_order_inherited_first():
    names = [n for n, _ in Inheriting.get_params()]
    assert names == ["region", "factor", "extra"]
    assert [n for n, _ in AllParams.get_params()][:3] == ["name", "count", "ratio"]


def test_own_init_runs_after_parameters_are_set():
    class WithInit(luisy.Task):
        a = luisy.IntParameter()

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.doubled = self.a * 2

    assert WithInit(a=21).doubled == 42
    assert WithInit(4).doubled == 8


# ---------------------------------------------------------------------------- parameters
def test_positional_parameters():
    task = Positional("x", 5)
    assert (task.a, task.b, task.hidden) == ("x", 5, 0)
    assert task is Positional(a="x", b=5)
    with pytest.raises(ParameterError, match="takes 2 positional parameters, got 3"):
        Positional("x", 5, 6)
    with pytest.raises(ParameterError, match=r"parameter 'a': given twice"):
        Positional("x", a="y")
    assert Positional("x", hidden=3).hidden == 3


def test_unknown_parameter_is_named_with_the_known_ones():
    with pytest.raises(ParameterError) as info:
        Cleaned(fctor=3)
    assert info.value.param_name == "fctor"
    assert "Cleaned" in str(info.value)
    assert "factor" in str(info.value) and "region" in str(info.value)


def test_clone():
    task = Inheriting(region="west", factor=4, extra=1)
    assert task.clone() is task
    assert task.clone(extra=2) == Inheriting(region="west", factor=4, extra=2)
    # to another class: only the parameters it knows
    assert task.clone(Cleaned) == Cleaned(region="west", factor=4)
    assert task.clone(Source) == Source(region="west")
    assert task.clone(Cleaned, factor=9) == Cleaned(region="west", factor=9)
    with pytest.raises(ParameterError, match="extra"):
        task.clone(Cleaned, extra=3)


def test_from_str_params_parses_command_line_strings():
    task = AllParams.from_str_params({
        "count": "4", "ratio": "1e-3", "flag": "true", "day": "2024-02-29",
        "month": "2024-02", "interval": "2024-W09", "items": "[3, 4]", "pair": '["p", "q"]',
        "options": '{"z": [1]}',
    })
    assert task == AllParams(count=4, ratio=0.001, flag=True, day=dt.date(2024, 2, 29),
                             month=dt.date(2024, 2, 1), interval="2024-W09", items=[3, 4],
                             pair=("p", "q"), options={"z": [1]})
    # a string parameter takes the text as it is, even when it looks like JSON
    assert AllParams.from_str_params({"name": "[1]"}).name == "[1]"


def test_from_str_params_errors_name_task_and_parameter():
    with pytest.raises(ParameterError, match=r"AllParams: parameter 'count'"):
        AllParams.from_str_params({"count": "four"})
    with pytest.raises(ParameterError, match=r"AllParams: parameter 'colour': unknown"):
        AllParams.from_str_params({"colour": "red"})


def test_to_str_params_round_trip():
    task = AllParams(name="with space", count=-2, ratio=2.25, flag=True, day="2023-12-31",
                     month="2023-11", interval="2023-01-05-2023-02-01", items=[1, "a", [2]],
                     pair=(1.5, None), options={"a": {"b": [1, 2]}}, note="n")
    strings = task.to_str_params()
    assert all(isinstance(v, str) for v in strings.values())
    assert strings["month"] == "2023-11"
    assert strings["flag"] == "True"
    again = AllParams.from_str_params(strings)
    assert again == task
    assert again.param_kwargs == task.param_kwargs
    assert set(task.to_str_params(only_significant=True)) == set(strings) - {"note"}


# ------------------------------------------------------------------------------- wiring
def test_requires_one_class_input_is_its_target():
    task = Cleaned(region="east", factor=3)
    assert task.requires() == Source(region="east")
    assert task.deps() == [Source(region="east")]
    assert task.input().path == Source(region="east").output().path


def test_requires_several_classes_input_is_a_list():
    task = Both(region="east", factor=3)
    assert task.requires() == [Cleaned(region="east", factor=3), Counted(region="east")]
    assert [t.path for t in task.input()] == [
        Cleaned(region="east", factor=3).output().path, Counted(region="east").output().path]


def test_requires_as_dict_keyed_by_class_name():
    task = BothDict(factor=3)
    # BothDict got region from Cleaned (north) and passes it on to Counted too
    assert task.requires() == {"Cleaned": Cleaned(factor=3), "Counted": Counted(region="north")}
    assert {k: v.path for k, v in task.input().items()} == {
        "Cleaned": Cleaned(factor=3).output().path,
        "Counted": Counted(region="north").output().path}
    assert set(task.deps()) == {Cleaned(factor=3), Counted(region="north")}


def test_requires_inherits_parameters_and_own_parameters_win():
    assert dict(Cleaned.get_params())["region"] is dict(Source.get_params())["region"]
    assert Cleaned().region == "north"  # Source's default
    # Counted declares its own region: its default wins and is passed upstream
    assert Counted().region == "south"
    assert Counted().requires() == Source(region="south")
    # Both inherits from Cleaned first: Cleaned's (i.e. Source's) region
    assert Both().region == "north"


def test_inherits_copies_parameters_without_requiring():
    task = Inheriting(factor=5)
    assert (task.region, task.factor, task.extra) == ("north", 5, 7)
    assert task.requires() == []
    assert task.input() == []
    assert task.clone(Cleaned) == Cleaned(factor=5)


def test_requires_and_inherits_need_classes():
    with pytest.raises(TypeError):
        luisy.requires()
    with pytest.raises(TypeError):
        luisy.inherits()


def test_requires_may_yield_its_tasks_like_luigi():
    task = Yielding()
    assert task.deps() == [Cleaned(factor=1), Cleaned(factor=2)]
    assert [t.path for t in task.input()] == [
        Cleaned(factor=1).output().path, Cleaned(factor=2).output().path]
    Cleaned(factor=1).write("one")
    Cleaned(factor=2).write("two")
    assert task.read_input() == ["one", "two"]


def test_requires_may_return_a_set():
    task = RequiresSet()
    assert sorted(task.deps(), key=str) == [Cleaned(factor=1), Cleaned(factor=2)]
    Cleaned(factor=1).write("one")
    Cleaned(factor=2).write("two")
    assert sorted(task.read_input()) == ["one", "two"]


def test_flatten():
    assert flatten(None) == []
    assert flatten({"a": [1, (2, 3)], "b": {"c": 4}}) == [1, 2, 3, 4]
    assert flatten(5) == [5]
    assert flatten(iter([1, [2]])) == [1, 2]


# -------------------------------------------------------------------- methods users call
def test_write_then_read_output_and_read_input():
    Source(region="east").output().write({"rows": 3})
    Cleaned(region="east", factor=3).write({"clean": True})
    Counted(region="east").write(4)
    assert Cleaned(region="east", factor=3).output().read() == {"clean": True}
    assert Cleaned(region="east", factor=3).read_input() == {"rows": 3}
    assert Both(region="east", factor=3).read_input() == [{"clean": True}, 4]
    assert BothDict(region="east", factor=3).read_input() == {"Cleaned": {"clean": True},
                                                              "Counted": 4}


def test_run_writes_the_output():
    Cleaned(factor=6).run()
    assert Cleaned(factor=6).output().read() == {"region": "north", "factor": 6}


def test_reading_a_missing_target_names_the_file():
    target = Cleaned(factor=99).output()
    with pytest.raises(TargetError) as info:
        target.read()
    assert target.path in str(info.value)
    assert not os.path.exists(target.path)


def test_reading_a_corrupt_target_names_the_file():
    target = Cleaned(factor=98).output()
    os.makedirs(os.path.dirname(target.path), exist_ok=True)
    with open(target.path, "wb") as fh:
        fh.write(b"not a pickle")
    with pytest.raises(TargetError, match="UnpicklingError") as info:
        target.read()
    assert target.path in str(info.value)


def test_run_is_required_and_external_tasks_never_run():
    class NoRun(luisy.Task):
        pass

    with pytest.raises(NotImplementedError, match=r"NoRun\(\)"):
        NoRun().run()
    with pytest.raises(TaskDefinitionError, match="external"):
        Source().run()


def test_clean_removes_the_output():
    task = Cleaned(factor=11)
    task.write("data")
    assert task.output().exists()
    task.clean()
    assert not task.output().exists()
    task.clean()  # nothing to remove is fine


def test_external_task_clean_is_refused_and_data_kept():
    Source(region="far").output().write("precious")
    with pytest.raises(ValueError, match="external"):
        Source(region="far").clean()
    assert Source(region="far").output().read() == "precious"


def test_wrapper_task_has_no_output():
    task = Wrapped(factor=3)
    assert task.output() is None
    assert task.output_location() == "(no output)"
    assert task.requires() == [Cleaned(factor=3), Counted(region="north")]
    assert task.run() is None
    assert task.clean() is None
    assert task.download() is None and task.upload(overwrite=True) is None


def test_concatenation_task_concats_inputs_then_preprocesses():
    frames = [pd.DataFrame({"value": [i, i + 10]}) for i in range(3)]
    for i, frame in enumerate(frames):
        Part(idx=i).write(frame)
    Concat().run()
    expected = pd.concat(frames).assign(doubled=lambda d: d["value"] * 2).reset_index(drop=True)
    pd.testing.assert_frame_equal(Concat().output().read(), expected)
    assert Concat().output().path.endswith(".csv")


def test_logger_outside_a_run_is_a_plain_logger():
    assert Cleaned().logger.name.endswith("Cleaned")


def test_task_in_luisy_package_needs_a_project_name():
    class Misplaced(luisy.Task):
        __module__ = "luisy.somewhere"
        layer = "raw"

    with pytest.raises(TaskDefinitionError, match="project_name"):
        Misplaced().output()


def test_spark_task_keeps_its_1x_import_path():
    pytest.importorskip("pyspark")
    pytest.importorskip("luisy.tasks.spark")  # written by the Spark side
    from luisy.tasks.base import SparkTask

    assert issubclass(SparkTask, luisy.Task)
    assert luisy.SparkTask is SparkTask


# ------------------------------------------- read(): needs the planner's completeness check
def _adopt(root):
    """Record the current keys of existing outputs (hash-update mode: nothing runs)."""
    luisy.build(root, hash_update_mode=True)


def test_read_refuses_a_task_that_is_not_built():
    task = Cleaned(factor=21)
    with pytest.raises(TaskNotCompleteError) as info:
        task.read()
    assert task.output().path in str(info.value)
    assert "get_related_instances" in str(info.value)


def test_read_refuses_an_output_written_outside_the_pipeline():
    # the file exists but no key was recorded for it: it may be outdated
    Source(region="east").output().write("raw")
    Cleaned(region="east", factor=22).output().write("unrecorded")
    with pytest.raises(TaskNotCompleteError):
        Cleaned(region="east", factor=22).read()


def test_read_returns_the_output_of_a_complete_task():
    Source(region="east").output().write("raw")
    Cleaned(region="east", factor=23).output().write({"ok": 1})
    _adopt(Cleaned(region="east", factor=23))
    assert Cleaned(region="east", factor=23).read() == {"ok": 1}


def test_write_by_hand_records_the_current_key_as_luisy_1x_users_expect():
    # luisy 1.x: task.run(); task.read() works in a notebook. write() records the key with
    # the write, the same record a build makes, so a build then finds the task complete.
    Source(region="east").output().write("raw")
    task = Cleaned(region="east", factor=25)
    task.run()
    assert task.read() == {"region": "east", "factor": 25}
    plan = luisy.plan(task)
    assert plan.steps[task].decision.value == "complete", plan.steps[task].reason


def test_wrapper_task_read_list_and_dict():
    Source(region="east").output().write("raw")
    Cleaned(region="east", factor=24).write("cleaned")
    Counted(region="east").write(4)
    _adopt(Wrapped(region="east", factor=24))
    assert Wrapped(region="east", factor=24).read() == ["cleaned", 4]
    assert WrappedDict(region="east", factor=24).read() == {"Cleaned": "cleaned", "Counted": 4}
