"""``Task.get_related_instances()``: typed parameter values of built instances, from disk."""
from __future__ import annotations

import datetime as dt
import os

import pytest

import luisy
from luisy.errors import TaskDefinitionError


@luisy.interim
class Typed(luisy.Task):
    count = luisy.IntParameter()
    rate = luisy.FloatParameter(default=0.5)
    flag = luisy.BoolParameter()
    day = luisy.DateParameter(default=dt.date(2024, 1, 1))
    month = luisy.MonthParameter(default="2024-01")
    items = luisy.ListParameter(default=[])
    name = luisy.Parameter(default="plain")


@luisy.interim
class TypedExtra(luisy.Task):
    """Its family starts like ``Typed``'s: its files must not be taken for Typed's."""

    count = luisy.IntParameter()


@luisy.final
@luisy.auto_filename(excl_params=["version"])
class Excluded(luisy.Task):
    region = luisy.Parameter()
    version = luisy.IntParameter(default=3)


@luisy.final
@luisy.auto_filename(excl_none=True)
class Optional(luisy.Task):
    region = luisy.Parameter()
    limit = luisy.IntParameter(default=None)


@luisy.raw
class NoParams(luisy.Task):
    pass


@luisy.raw
class PerMonthFolder(luisy.Task):
    month = luisy.MonthParameter()
    part = luisy.IntParameter()

    def get_sub_dir(self) -> str:
        return f"{self.month:%Y}/{self.month:%m}"


@luisy.raw
class Custom(luisy.Task):
    day = luisy.DateParameter()

    def get_file_name(self) -> str:
        return f"export_{self.day:%Y%m%d}"


@luisy.raw
@luisy.parquetdir_output(outdir="parts")
class Folder(luisy.Task):
    pass


class Wrapper(luisy.WrapperTask):
    pass


def built(*tasks: luisy.Task) -> list[luisy.Task]:
    for task in tasks:
        task.write({"built": str(task)})
    return list(tasks)


def test_typed_values_come_back_from_file_names():
    tasks = built(
        Typed(count=1, flag=True),
        Typed(count=2, rate=1.25, day="2023-12-31", month="2024-03", items=["a", "b"]),
        Typed(count=3, items=[1, 2, 3], name="x"),
    )
    found = Typed.get_related_instances()
    assert sorted(found, key=lambda t: t.count) == tasks
    second = found[[t.count for t in found].index(2)]
    assert second.rate == 1.25 and second.day == dt.date(2023, 12, 31)
    assert second.month == dt.date(2024, 3, 1) and second.items == ("a", "b")
    assert found[[t.count for t in found].index(3)].items == (1, 2, 3)


def test_other_classes_and_unrelated_files_are_ignored(working_dir):
    built(Typed(count=1), TypedExtra(count=9))
    folder = os.path.dirname(Typed(count=1).get_outfile())
    for junk in ("Typed_count=x.pkl", "Typed_count=1.csv", "notes.txt",
                 "Typed_count=1_flag=False_name=plain.pkl"):  # no such file name is written
        open(os.path.join(folder, junk), "w").close()
    assert Typed.get_related_instances() == [Typed(count=1)]
    assert TypedExtra.get_related_instances() == [TypedExtra(count=9)]


def test_underscores_inside_values_are_recovered_when_the_path_agrees():
    built(Typed(count=4, name="north_east"), Typed(count=5, name="a b/c"))
    found = {t.count: t for t in Typed.get_related_instances()}
    assert found[4].name == "north_east"
    # spaces and '/' were written as '_': the instance found writes the same file
    assert found[5].name == "a_b_c"
    assert found[5].get_outfile() == Typed(count=5, name="a b/c").get_outfile()


def test_excluded_parameters_take_their_defaults():
    built(Excluded(region="north"), Excluded(region="south"))
    assert sorted(Excluded.get_related_instances(), key=str) == [
        Excluded(region="north"), Excluded(region="south")]


def test_none_values_left_out_by_excl_none_come_back_as_none():
    built(Optional(region="north"), Optional(region="south", limit=10))
    assert sorted(Optional.get_related_instances(), key=str) == [
        Optional(region="north"), Optional(region="south", limit=10)]


def test_a_task_without_parameters():
    assert NoParams.get_related_instances() == []
    built(NoParams())
    assert NoParams.get_related_instances() == [NoParams()]


def test_sub_dirs_that_depend_on_parameters_are_searched():
    tasks = built(PerMonthFolder(month="2024-01", part=1), PerMonthFolder(month="2025-02", part=2))
    assert sorted(PerMonthFolder.get_related_instances(), key=str) == tasks


def test_nothing_built_yet_is_an_empty_list(working_dir):
    assert Typed.get_related_instances() == []
    assert not os.path.exists(os.path.join(working_dir, "test_discovery"))


def test_own_get_file_name_is_refused_with_the_reason():
    built(Custom(day="2024-01-02"))
    with pytest.raises(TaskDefinitionError) as info:
        Custom.get_related_instances()
    message = str(info.value)
    assert "Custom defines its own get_file_name()" in message
    assert "cannot be recovered" in message and "auto_filename" in message


@pytest.mark.parametrize("cls, reason", [
    (Folder, "names its output itself"),
    (Wrapper, "WrapperTask"),
])
def test_outputs_not_named_by_parameters_are_refused(cls, reason):
    with pytest.raises(TaskDefinitionError, match=reason):
        cls.get_related_instances()


def test_read_hint_points_here_and_instances_found_read():
    task, = built(Typed(count=7))
    found, = Typed.get_related_instances()
    assert found is task  # instances are cached: the same object
    assert found.output().read() == {"built": str(task)}
