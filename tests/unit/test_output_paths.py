"""Outputs and their paths (issue 15): one task per file, every file below the working dir,
and one resolved path for writing and for checking an output.

Planning only (no Prefect): what a build or the CLI refuses, it refuses while planning.
Builds that write through such paths are in ``tests/integration/test_output_faults.py``.
"""
from __future__ import annotations

import os

import pytest

import luisy
from luisy import cli
from luisy.errors import OutputPathError
from luisy.planner import Decision, make_plan
from luisy.targets.local import PickleTarget


def files_below(folder) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), folder)
                  for d, _, names in os.walk(folder) for f in names)


# ---------------------------------------------------------------- two tasks, one file
@luisy.project_name("paths")
@luisy.interim
class Monthly(luisy.Task):
    month = luisy.Parameter()
    region = luisy.Parameter()

    def get_file_name(self) -> str:  # forgets the region: every region writes one file
        return f"monthly_{self.month}"

    def run(self) -> None:
        self.write(self.region)


@luisy.project_name("paths")
@luisy.interim
class Report(luisy.Task):
    def get_file_name(self) -> str:  # Monthly(month=all)'s file
        return "monthly_all"

    def run(self) -> None:
        self.write("report")


@luisy.project_name("paths")
class Both(luisy.WrapperTask):
    regions = luisy.ListParameter(default=["east", "west"])
    with_report = luisy.BoolParameter(default=False)

    def requires(self) -> list[luisy.Task]:
        tasks = [Monthly(month="all", region=r) for r in self.regions]
        return [*tasks, Report()] if self.with_report else tasks


def test_two_instances_of_one_class_with_one_file_are_refused_naming_both_and_the_path(
        working_dir):
    with pytest.raises(OutputPathError) as info:
        make_plan(Both())
    message = str(info.value)
    assert "\n" not in message
    assert "Monthly(month=all, region=east)" in message
    assert "Monthly(month=all, region=west)" in message
    assert Monthly(month="all", region="east").output().path in message
    assert files_below(working_dir) == []


def test_two_classes_with_one_file_are_refused_through_build_before_anything_runs(
        working_dir):
    with pytest.raises(OutputPathError) as info:
        luisy.build(Both(regions=["east"], with_report=True))
    message = str(info.value)
    assert "Monthly(month=all, region=east)" in message and "Report()" in message
    assert Report().output().path in message
    assert files_below(working_dir) == []


def test_the_cli_refuses_two_tasks_with_one_file_in_one_line_and_writes_nothing(
        working_dir, tmp_path, monkeypatch, capsys):
    (tmp_path / "clash.py").write_text(
        "import luisy\n\n\n"
        "@luisy.project_name('clash')\n"
        "class Part(luisy.Task):\n"
        "    i = luisy.IntParameter()\n\n"
        "    def get_file_name(self):\n"
        "        return 'part'\n\n"
        "    def run(self):\n"
        "        self.write(self.i)\n\n\n"
        "@luisy.project_name('clash')\n"
        "class All(luisy.WrapperTask):\n"
        "    def requires(self):\n"
        "        return [Part(i=1), Part(i=2)]\n")
    monkeypatch.chdir(tmp_path)
    code = cli.main(["--module", "clash", "All", "--working-dir", str(working_dir),
                     "--no-ask"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("luisy: ")
    assert "Part(i=1)" in err and "Part(i=2)" in err
    assert os.path.join(str(working_dir), "part.pkl") in err
    assert files_below(working_dir) == []


@luisy.project_name("paths")
@luisy.raw
@luisy.make_directory_output(lambda path: path)
class Images(luisy.ExternalTask):
    def get_folder_name(self) -> str:
        return "shared"


@luisy.project_name("paths")
@luisy.raw
@luisy.make_directory_output(lambda path: path, regex_pattern=r"\.txt$")
class Notes(luisy.ExternalTask):
    def get_folder_name(self) -> str:
        return "shared"


@luisy.project_name("paths")
class ReadsShared(luisy.WrapperTask):
    def requires(self) -> list[luisy.ExternalTask]:
        return [Images(), Notes()]


def test_external_tasks_may_read_one_folder(working_dir):
    assert Images().output().path == Notes().output().path
    os.makedirs(Images().output().path)

    plan = make_plan(ReadsShared())

    assert plan.steps[Images()].decision is Decision.COMPLETE
    assert plan.steps[Notes()].decision is Decision.COMPLETE


# ------------------------------------------------------ every file below the working dir
@luisy.project_name("paths")
@luisy.interim
class Named(luisy.Task):
    name = luisy.Parameter()

    def get_file_name(self) -> str:
        return self.name

    def run(self) -> None:
        self.write(self.name)


@luisy.project_name("paths")
@luisy.final
class Regional(luisy.Task):
    region = luisy.Parameter()

    def get_sub_dir(self) -> str:
        return self.region

    def run(self) -> None:
        self.write(self.region)


@luisy.project_name("paths")
class NeedsNamed(luisy.Task):
    name = luisy.Parameter()

    def requires(self) -> Named:
        return Named(name=self.name)

    def run(self) -> None:
        self.write(self.read_input())


def test_a_parameter_climbing_out_of_the_working_dir_is_refused_naming_it(working_dir):
    with pytest.raises(OutputPathError) as info:
        make_plan(NeedsNamed(name="../../../etc/x"))
    message = str(info.value)
    assert "\n" not in message
    assert "Named(name=../../../etc/x)" in message
    assert "parameter 'name' is '../../../etc/x'" in message
    assert os.path.abspath(os.path.join(str(working_dir), "..", "etc", "x.pkl")) in message
    assert str(working_dir) in message
    assert files_below(working_dir.parent) == []


def test_an_absolute_parameter_value_is_refused_naming_it(working_dir, tmp_path):
    elsewhere = str(tmp_path / "elsewhere")
    with pytest.raises(OutputPathError) as info:
        make_plan(Regional(region=elsewhere))
    assert f"parameter 'region' is '{elsewhere}'" in str(info.value)
    assert not os.path.exists(elsewhere)


def test_writing_or_cleaning_by_hand_outside_the_working_dir_is_refused(working_dir):
    task = Named(name="../../../outside")
    with pytest.raises(OutputPathError):
        task.write("data")
    with pytest.raises(OutputPathError):
        task.clean()
    assert files_below(working_dir.parent) == []


@luisy.project_name("paths")
@luisy.interim
class ClimbingName(luisy.Task):
    def get_file_name(self) -> str:
        return "../../../up"


@luisy.project_name("paths")
@luisy.interim
class AbsoluteSubDir(luisy.Task):
    def get_sub_dir(self) -> str:
        return "/tmp"


@luisy.project_name("paths")
class OwnOutdir(luisy.Task):
    def get_outdir(self) -> str:
        return os.path.dirname(luisy.Config().get_param("working_dir"))


@pytest.mark.parametrize(("task", "cause"), [
    (ClimbingName(), "get_file_name() gives '../../../up'"),
    (AbsoluteSubDir(), "get_sub_dir() gives '/tmp'"),
    (OwnOutdir(), "get_outdir() gives "),
])
def test_a_naming_method_leaving_the_working_dir_is_refused_naming_it(working_dir, task,
                                                                      cause):
    with pytest.raises(OutputPathError) as info:
        make_plan(task)
    assert str(info.value).startswith(f"{task}: its output ")
    assert cause in str(info.value)


@luisy.project_name("paths")
@luisy.interim
class SharedSubDir(luisy.Task):
    def get_sub_dir(self) -> str:  # up out of the layer, still below the working dir
        return "../shared/2024"


def test_sub_dirs_and_values_with_slashes_below_the_working_dir_are_fine(working_dir):
    wd = str(working_dir)
    assert Regional(region="eu/north").output().path == os.path.join(
        wd, "paths", "final", "eu", "north", "Regional_region=eu_north.pkl")
    assert Named(name="by_month/2024-01").output().path == os.path.join(
        wd, "paths", "interim", "by_month", "2024-01.pkl")
    assert SharedSubDir().output().path == os.path.join(
        wd, "paths", "shared", "2024", "SharedSubDir.pkl")
    assert make_plan(SharedSubDir()).steps[SharedSubDir()].decision is Decision.RUN


@luisy.project_name("paths")
class Delivery(luisy.ExternalTask):
    def get_outdir(self) -> str:
        return os.path.join(os.path.dirname(luisy.Config().get_param("working_dir")), "share")


@luisy.project_name("paths")
class UsesDelivery(luisy.Task):
    def requires(self) -> Delivery:
        return Delivery()

    def run(self) -> None:
        self.write(self.read_input())


def test_external_data_may_live_outside_the_working_dir(working_dir):
    share = working_dir.parent / "share"
    assert Delivery().output().path == str(share / "Delivery.pkl")
    assert make_plan(UsesDelivery()).steps[Delivery()].decision is Decision.MISSING_EXTERNAL
    share.mkdir()
    PickleTarget(str(share / "Delivery.pkl")).write("delivered")
    assert make_plan(UsesDelivery()).steps[Delivery()].decision is Decision.COMPLETE


@luisy.project_name("paths")
class ExplicitTarget(luisy.Task):
    """Names its target itself (luigi style): taken at its word, wherever it is."""

    def output(self) -> PickleTarget:
        return PickleTarget(os.path.join(
            os.path.dirname(luisy.Config().get_param("working_dir")), "explicit.pkl"))

    def run(self) -> None:
        self.write("explicit")


def test_a_task_that_overrides_output_keeps_its_place(working_dir):
    ExplicitTarget().write("explicit")
    assert (working_dir.parent / "explicit.pkl").exists()
    assert make_plan(ExplicitTarget()).steps[ExplicitTarget()].decision is Decision.COMPLETE


def test_a_working_dir_that_is_a_symlink_works_spelled_either_way(working_dir, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(working_dir, target_is_directory=True)
    luisy.Config().set_param("working_dir", str(link))
    task = Named(name="through_link")
    assert task.output().path == str(link / "paths" / "interim" / "through_link.pkl")
    task.write("data")
    assert (working_dir / "paths" / "interim" / "through_link.pkl").exists()
    assert make_plan(task).steps[task].decision is Decision.COMPLETE

    # a name spelled through the link's target is below the working dir all the same
    real = Named(name=f"../../../{working_dir.name}/paths/interim/real")
    assert real.output().path == str(working_dir / "paths" / "interim" / "real.pkl")
    assert make_plan(real).steps[real].decision is Decision.RUN


# ----------------------------------------------- one resolved path, written and checked
def test_a_target_is_written_and_checked_at_one_resolved_path(working_dir, tmp_path):
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (working_dir / "link").symlink_to(outside / "deep", target_is_directory=True)
    # the kernel walks "missing/.." and "link/.." through the folder; by name they go up
    through_missing = PickleTarget(str(working_dir / "missing" / ".." / "a.pkl"))
    through_link = PickleTarget(str(working_dir / "link" / ".." / "b.pkl"))

    for target in (through_missing, through_link):
        target.write("data")
        assert target.exists()
        assert target.signature() is not None
        assert target.read() == "data"
    assert through_missing.path == str(working_dir / "a.pkl")
    assert through_link.path == str(working_dir / "b.pkl")
    assert files_below(outside) == []
    through_link.remove()
    assert not (working_dir / "b.pkl").exists()
