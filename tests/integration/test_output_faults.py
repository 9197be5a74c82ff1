"""Outputs and their paths on real builds (issue 15), on the session's Prefect server.

A path through ``..`` is written and checked at one resolved path (the write normalised it,
the existence check let the kernel walk it: a run that wrote its output was failed as one
that wrote nothing); paths that leave the working dir, and two tasks with one file, are
refused before anything runs.
"""
from __future__ import annotations

import pytest
from tests.unit.test_output_paths import (  # a task named by a parameter: one that can escape
    Named,
    files_below,
)

import luisy
from luisy.errors import OutputPathError

pytestmark = pytest.mark.usefixtures("prefect_server")


@luisy.project_name("faults")
@luisy.interim
class ThroughMissing(luisy.Task):
    def get_sub_dir(self) -> str:  # "scratch" never exists
        return "scratch/../out"

    def run(self) -> None:
        self.write("through missing")


@luisy.project_name("faults")
@luisy.interim
class ThroughLink(luisy.Task):
    def get_sub_dir(self) -> str:  # "link" is a symlink to a folder outside the working dir
        return "link/../data"

    def run(self) -> None:
        self.write("through link")


@luisy.project_name("faults")
@luisy.final
class Dotted(luisy.Task):
    def requires(self) -> list[luisy.Task]:
        return [ThroughMissing(), ThroughLink()]

    def run(self) -> None:
        self.write(self.read_input())


def test_outputs_named_through_dot_dot_are_written_and_found_at_one_path(working_dir,
                                                                        tmp_path):
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    interim = working_dir / "faults" / "interim"
    interim.mkdir(parents=True)
    (interim / "link").symlink_to(outside / "deep", target_is_directory=True)

    summary = luisy.build(Dotted())

    assert summary.ok, summary.errors
    assert summary.completed == {ThroughMissing(), ThroughLink(), Dotted()}
    assert (interim / "out" / "ThroughMissing.pkl").is_file()
    assert (interim / "data" / "ThroughLink.pkl").is_file()
    assert files_below(outside) == []
    assert Dotted().read() == ["through missing", "through link"]
    again = luisy.build(Dotted())
    assert again.completed == set()
    assert again.already_done == {ThroughMissing(), ThroughLink(), Dotted()}


@luisy.project_name("faults")
@luisy.final
class Pair(luisy.Task):
    first = luisy.Parameter()
    second = luisy.Parameter()

    def requires(self) -> list[Named]:
        return [Named(name=self.first), Named(name=self.second)]

    def run(self) -> None:
        self.write(self.read_input())


def test_an_output_outside_the_working_dir_stops_the_build_before_anything_runs(
        working_dir):
    with pytest.raises(OutputPathError) as info:
        luisy.build(Pair(first="fine", second="../../../escaped"))
    assert "Named(name=../../../escaped)" in str(info.value)
    assert "parameter 'name'" in str(info.value)
    assert files_below(working_dir.parent) == []


def test_two_tasks_with_one_file_stop_the_build_before_anything_runs(working_dir):
    with pytest.raises(OutputPathError) as info:
        luisy.build(Pair(first="same", second="sub/../same"))
    assert "Named(name=same) and Named(name=sub/../same)" in str(info.value)
    assert str(working_dir / "paths" / "interim" / "same.pkl") in str(info.value)
    assert files_below(working_dir) == []


def test_a_build_in_a_working_dir_that_is_a_symlink(working_dir, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(working_dir, target_is_directory=True)

    summary = luisy.build(Pair(first="a", second="b"), working_dir=str(link))

    assert summary.ok, summary.errors
    assert (working_dir / "faults" / "final" / "Pair_first=a_second=b.pkl").is_file()
    again = luisy.build(Pair(first="a", second="b"), working_dir=str(link))
    assert again.already_done == {Pair(first="a", second="b"), Named(name="a"),
                                  Named(name="b")}
