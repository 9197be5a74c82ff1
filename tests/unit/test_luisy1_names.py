"""luisy 1.x names that users call: ``luisy.visualize.make_dependency_graph``,
``luisy.helpers.RegexTaskPattern`` / ``get_related_instances()`` with own file names, and the
``ValueError``\\ s 1.x users catch.

Scenarios follow luisy 1.x's own tests (tests/test_visualization.py, tests/test_helpers.py,
tests/test_external_task.py), observed as a 1.x user would: graph nodes and edges, instances
found from files written, exceptions caught by the types 1.x raised.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import re
import subprocess
import sys
import textwrap

import networkx as nx
import pytest

import luisy
import luisy.visualize as vis
from luisy import helpers
from luisy.errors import LuisyError, TaskDefinitionError, TaskNotCompleteError
from luisy.helpers import RegexTaskPattern


# ------------------------------------------------------------------ dependency graphs
class Task2b(luisy.Task):
    a = luisy.IntParameter(default=84)


class Task2a(luisy.Task):
    a = luisy.IntParameter(default=82)


class Task1(luisy.Task):
    def requires(self):
        return [Task2a(a=c) for c in (1, 2, 3)] + [Task2b()]


class Task1b(luisy.Task):
    def requires(self):
        return {Task2b(a=5), Task2b(a=10)}


class Task1c(luisy.Task):
    def requires(self):
        return Task2b()


@luisy.requires(Task1)
class Task0(luisy.Task):
    pass


class Chain(luisy.Task):
    n = luisy.IntParameter()

    def requires(self):
        return Chain(n=self.n - 1) if self.n else []


class Top(luisy.Task):
    """A diamond: both middles need the same bottom."""

    def requires(self):
        return {"left": Middle(side="left"), "right": Middle(side="right")}


class Middle(luisy.Task):
    side = luisy.Parameter()
    note = luisy.Parameter(default="x", significant=False)

    def requires(self):
        return Bottom()


class Bottom(luisy.Task):
    pass


def families(dag: nx.DiGraph) -> list[str]:
    return [name.split("\n")[0] for name in dag.nodes()]


def test_unique_children_follow_one_task_per_class():
    dag = vis.make_dependency_graph(task=Task0(), namefunc=vis.simple_task_string,
                                    unique_children=True)
    assert isinstance(dag, nx.DiGraph)
    assert families(dag) == ["Task0", "Task1", "Task2a", "Task2b"]


def test_all_children_without_unique_children():
    dag = vis.make_dependency_graph(task=Task0(), namefunc=vis.simple_task_string,
                                    unique_children=False)
    assert families(dag) == ["Task0", "Task1", "Task2a", "Task2a", "Task2a", "Task2b"]


def test_depth_limit_counts_levels_below_the_root():
    dag = vis.make_dependency_graph(Task0(), namefunc=vis.simple_task_string,
                                    unique_children=True, depth_limit=1)
    assert families(dag) == ["Task0", "Task1"]
    only_root = vis.make_dependency_graph(Task0(), depth_limit=0)
    assert families(only_root) == ["Task0"] and only_root.number_of_edges() == 0


def test_a_set_and_a_single_task_as_requirements():
    assert families(vis.make_dependency_graph(Task1b(), namefunc=vis.simple_task_string,
                                              unique_children=False)) == [
        "Task1b", "Task2b", "Task2b"]
    dag = vis.make_dependency_graph(Task1c(), unique_children=False)
    assert list(dag.nodes()) == ["Task1c", "Task2b\na=84"]


def test_edges_run_from_a_task_to_what_it_requires_and_nodes_are_labels():
    dag = vis.make_dependency_graph(Task0(), unique_children=False)
    assert list(dag.edges()) == [("Task0", "Task1"), ("Task1", "Task2a\na=1"),
                                 ("Task1", "Task2a\na=2"), ("Task1", "Task2a\na=3"),
                                 ("Task1", "Task2b\na=84")]
    assert all(data == {} for _, data in dag.nodes(data=True))  # labels only, as in 1.x
    assert next(iter(nx.topological_sort(dag))) == "Task0"


def test_labels_leave_out_excluded_parameters_and_merge_what_they_no_longer_tell_apart():
    dag = vis.make_dependency_graph(Task0(), excl_list=["a"], unique_children=False)
    assert list(dag.nodes()) == ["Task0", "Task1", "Task2a", "Task2b"]
    # every parameter, insignificant ones too, one a line; with_id adds a short id
    assert vis.create_label(Middle(side="left")) == "Middle\nside=left\nnote=x"
    with_id = vis.create_label(Middle(side="left"), with_id=True)
    assert re.fullmatch(r"Middle[0-9a-f]{10}\nside=left\nnote=x", with_id)
    # the id tells apart tasks whose labels no longer do
    assert vis.create_label(Task2a(a=1), excl_list=["a"]) == "Task2a"
    assert (vis.create_label(Task2a(a=1), excl_list=["a"], with_id=True)
            != vis.create_label(Task2a(a=2), excl_list=["a"], with_id=True))


def test_shared_upstream_tasks_and_deep_chains():
    diamond = vis.make_dependency_graph(Top(), unique_children=False, depth_limit=math.inf)
    assert sorted(diamond.edges()) == [
        ("Middle\nside=left\nnote=x", "Bottom"), ("Middle\nside=right\nnote=x", "Bottom"),
        ("Top", "Middle\nside=left\nnote=x"), ("Top", "Middle\nside=right\nnote=x")]
    deep = vis.make_dependency_graph(Chain(n=3000), depth_limit=math.inf)
    assert deep.number_of_nodes() == 3001 and nx.is_directed_acyclic_graph(deep)
    assert vis.make_dependency_graph(Chain(n=3000)).number_of_nodes() == 11  # 1.x default


def test_without_networkx_the_error_names_the_package():
    script = textwrap.dedent("""
        import sys
        sys.modules["networkx"] = None  # what an interpreter without networkx sees
        import luisy, luisy.visualize as vis
        from luisy.errors import LuisyError

        @luisy.project_name("p")
        class Alone(luisy.Task):
            pass

        try:
            vis.make_dependency_graph(Alone())
        except LuisyError as exc:
            print(type(exc).__name__, exc)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=120)
    assert "networkx" in out.stdout and "pip install networkx" in out.stdout, out.stderr


# ---------------------------------------------- get_related_instances with own file names
@luisy.interim
class CustomFilename(luisy.Task):
    a = luisy.IntParameter()
    b = luisy.IntParameter()
    c = luisy.IntParameter()

    def get_sub_dir(self):
        return os.path.join("this", str(self.a), "isjustatest")

    def get_file_name(self):
        return f"{self.a}_fake_filename_{self.b}_{self.c}"


@luisy.final
@luisy.requires(CustomFilename)
@luisy.auto_filename
class MyTask2(luisy.Task):
    a = luisy.IntParameter(default=1)
    b = luisy.IntParameter(default=1)
    c = luisy.IntParameter(default=1)


@luisy.final
@luisy.requires(CustomFilename)
class MessedFilename(luisy.Task):
    a = luisy.IntParameter(default=1)
    b = luisy.IntParameter(default=1)
    c = luisy.IntParameter(default=1)

    def get_file_name(self):
        return f"1_1_1_1_1_{self.a}"


@luisy.raw
class Data(luisy.Task):
    a = luisy.IntParameter()
    b = luisy.Parameter()
    day = luisy.DateParameter(default=dt.date(2024, 1, 1))
    comment = luisy.Parameter(default="", significant=False)

    def get_file_name(self):
        return f"data_{self.a}_{self.b}_{self.day}"


@luisy.raw
class DataExtra(luisy.Task):
    """Its files lie beside Data's and start alike."""

    a = luisy.IntParameter()

    def get_file_name(self):
        return f"data_{self.a}"


@luisy.raw
@luisy.csv_output
class Export(luisy.ExternalTask):
    def get_file_name(self):
        return "some_export"


@luisy.raw
class ByYear(luisy.Task):
    day = luisy.DateParameter()

    def get_file_name(self):
        return f"export_{self.day.year}"


@luisy.raw
class Flagged(luisy.Task):
    flag = luisy.BoolParameter()

    def get_file_name(self):
        return "with_flag" if self.flag else "without_flag"


def built(*tasks: luisy.Task) -> list[luisy.Task]:
    for task in tasks:
        task.write(task.param_kwargs)
    return list(tasks)


def written_by_1x_test_of_helpers() -> None:
    """What 1.x's test_helpers built: three MyTask2 and a MessedFilename, whose
    requirements are four CustomFilename instances."""
    for a, b, c in [(1, 1, 1), (2, 2, 2), (2, 3, 2)]:
        built(CustomFilename(a=a, b=b, c=c), MyTask2(a=a, b=b, c=c))
    built(CustomFilename(a=2, b=2, c=1), MessedFilename(a=2, b=2, c=1))


def test_own_file_names_and_sub_dirs_are_found_back():
    written_by_1x_test_of_helpers()
    found = CustomFilename.get_related_instances()
    assert sorted(found, key=str) == [CustomFilename(a=1, b=1, c=1), CustomFilename(a=2, b=2, c=1),
                                      CustomFilename(a=2, b=2, c=2), CustomFilename(a=2, b=3, c=2)]
    for task in found:
        assert task.read() == {"a": task.a, "b": task.b, "c": task.c}
    mine = MyTask2.get_related_instances()
    assert len(mine) == 3 and all(t.read()["a"] == t.a for t in mine)


def test_a_file_name_without_every_parameter_is_one_clear_error():
    written_by_1x_test_of_helpers()
    with pytest.raises(TaskDefinitionError) as info:
        MessedFilename.get_related_instances()
    message = str(info.value)
    assert message.startswith("MessedFilename defines its own get_file_name()")
    assert "'b', 'c'" in message and "cannot be recovered" in message
    with pytest.raises(Exception):  # noqa: B017 - what 1.x's test asserted
        MessedFilename.get_related_instances()


@pytest.mark.parametrize("cls, why", [
    (ByYear, r"parameter 'day' as something other than text \(\.year\)"),
    (Flagged, r"decides on parameter 'flag'"),
])
def test_values_a_file_name_cannot_give_back_are_refused_naming_the_parameter(cls, why):
    with pytest.raises(TaskDefinitionError, match=rf"^{cls.__name__} .*{why}"):
        cls.get_related_instances()


def test_typed_values_come_back_and_other_files_are_left_alone(working_dir):
    tasks = built(Data(a=1, b="north_east"), Data(a=22, b="x", day="2023-12-31"))
    built(DataExtra(a=5))
    folder = os.path.dirname(Data(a=1, b="x").get_outfile())
    for junk in ("data_x_y_2024-01-01.pkl", "data_1_y_2024-13-01.pkl", "data_1_y.csv",
                 "notes.txt"):
        open(os.path.join(folder, junk), "w").close()
    found = sorted(Data.get_related_instances(), key=lambda t: t.a)
    assert found == tasks
    assert found[1].day == dt.date(2023, 12, 31) and found[1].a == 22
    assert found[0].b == "north_east"  # '_' inside a value: the int before it decides
    assert found[0].comment == ""  # insignificant and not in the name: its default
    assert DataExtra.get_related_instances() == [DataExtra(a=5)]


def test_nothing_built_and_an_external_task_with_a_fixed_name(working_dir):
    assert Data.get_related_instances() == []
    assert Export.get_related_instances() == []
    os.makedirs(os.path.dirname(Export().get_outfile()))
    open(Export().get_outfile(), "w").close()
    assert Export.get_related_instances() == [Export()]


def test_regex_task_pattern_has_1x_attributes(working_dir):
    written_by_1x_test_of_helpers()
    pattern = RegexTaskPattern(CustomFilename)
    interim = os.path.join(str(working_dir), "test_luisy1_names", "interim")
    assert pattern.root_dir == pattern.build_root_directory() == os.path.join(interim, "this")
    assert pattern.filename_pattern == os.path.join(
        interim, "this", "*a*", "isjustatest", "*a*_fake_filename_*b*_*c*.pkl")
    assert [p.name for p in pattern.params] == ["a", "b", "c"]
    assert pattern.params[0].placeholder == "*a*"
    files = pattern.get_available_files()
    assert len(files) == 4 and all(re.fullmatch(pattern.regex_pattern, f) for f in files)
    params = pattern.get_available_params()
    assert params[CustomFilename(a=2, b=3, c=2).get_outfile()] == {"a": 2, "b": 3, "c": 2}
    assert all(CustomFilename(**values).get_outfile() == path
               for path, values in params.items())
    with pattern._overwrite_defaults() as task:
        probe = task()
        assert (probe.a, probe.b, probe.c) == ("*a*", "*b*", "*c*")
    assert CustomFilename(a=1, b=1, c=1).a == 1  # no class was changed


def test_regex_placeholder_limits_what_a_value_may_look_like():
    built(Data(a=1, b="abc"), Data(a=2, b="a b"))
    assert len(helpers.get_related_instances(Data)) == 2
    assert helpers.get_related_instances(Data, regex_placeholder=r"[\w-]*") == [
        Data(a=1, b="abc")]
    assert Data.get_related_instances(regex_placeholder=r"[\w-]*") == [Data(a=1, b="abc")]


# --------------------------------------------------- 1.x's ValueErrors, still luisy errors
def test_parquetdir_output_without_a_folder_is_a_value_error():
    with pytest.raises(ValueError) as info:
        @luisy.parquetdir_output()
        class ExternalParquetDir(luisy.ExternalTask):
            pass
    assert isinstance(info.value, TaskDefinitionError)
    assert "ExternalParquetDir" in str(info.value)


def test_make_directory_output_misuse_is_a_value_error():
    decorate = luisy.make_directory_output(lambda path: path)
    with pytest.raises(ValueError, match="get_folder_name"):
        @decorate
        class NoFolder(luisy.ExternalTask):
            pass
    with pytest.raises(ValueError, match="ExternalTask"):
        @decorate
        class NotExternal(luisy.Task):
            def get_folder_name(self):
                return "x"


def test_reading_missing_external_data_is_a_value_error():
    with pytest.raises(ValueError) as info:
        Export().read()
    assert isinstance(info.value, TaskNotCompleteError) and isinstance(info.value, LuisyError)
    assert "get_related_instances()" in str(info.value)


def test_requires_without_classes_stays_a_type_error():
    with pytest.raises(TypeError):
        luisy.requires()
