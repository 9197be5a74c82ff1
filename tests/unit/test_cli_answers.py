"""The ``luisy`` command answers every mistake with one clear line and never guesses.

Each test runs the real command: ``luisy.cli.main([...])`` in this process, or the installed
``luisy`` script in a subprocess where the exit code and the absence of a traceback are what
a user sees. The tasks live in a module written under the test's ``tmp_path``.
"""
from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

import luisy
from luisy import cli

LUISY = str(Path(sys.executable).parent / "luisy")
MODULE = "cli_answers_tasks"

TASKS = '''
import luisy


@luisy.project_name("answers")
@luisy.raw
class LoadCheck(luisy.Task):
    """Parameters named like the first letters of luisy's options."""
    n = luisy.IntParameter(default=1)
    v = luisy.IntParameter(default=0)
    g = luisy.IntParameter(default=0)
    m = luisy.Parameter(default="-")
    s = luisy.BoolParameter(default=False)

    def run(self):
        self.write({"n": self.n})


@luisy.project_name("answers")
@luisy.raw
class Workers(luisy.Task):
    workers = luisy.IntParameter()

    def run(self):
        self.write(self.workers)


@luisy.project_name("answers")
@luisy.raw
class Forceful(luisy.Task):
    force = luisy.Parameter(default="no")

    def run(self):
        self.write(self.force)


@luisy.project_name("answers")
@luisy.raw
class Switches(luisy.Task):
    show_complete = luisy.BoolParameter()

    def run(self):
        self.write(self.show_complete)


@luisy.project_name("answers")
@luisy.raw
class WithModule(luisy.Task):
    module = luisy.Parameter(default="none")

    def run(self):
        self.write(self.module)


@luisy.project_name("answers")
@luisy.raw
class OwnWorkingDir(luisy.Task):
    working_dir = luisy.Parameter(default="none")

    def run(self):
        self.write(self.working_dir)


@luisy.project_name("answers")
@luisy.raw
class Boom(luisy.Task):
    def run(self):
        raise ValueError("boom in Boom")


@luisy.project_name("answers")
@luisy.raw
class Unlucky(luisy.Task):
    def requires(self):
        return 1 / 0

    def run(self):
        self.write(0)
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder holding the tasks' module, as the current dir (the command imports from
    it); the module is forgotten afterwards, so each test imports its own."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / f"{MODULE}.py").write_text(TASKS)
    monkeypatch.chdir(folder)
    yield folder
    sys.modules.pop(MODULE, None)


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_luisy(*argv: str, cwd, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The installed ``luisy`` script, without a working dir in its environment."""
    base = {k: v for k, v in os.environ.items() if k != "WORKING_DIR"}
    return subprocess.run([LUISY, *argv], cwd=cwd, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=300)


def one_line(err: str) -> str:
    """The only line of ``err``, which holds no traceback."""
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ----------------------------------------------------------------- it never guesses
def test_short_task_options_are_the_tasks_never_abbreviations_of_luisys(project, working_dir,
                                                                       capsys):
    code, out, err = run_main([
        "--module", MODULE, "LoadCheck", "--n", "3000", "--v", "1", "--g", "2", "--m", "x",
        "--s", "--working-dir", str(working_dir), "--dry-run"], capsys)
    assert (code, err) == (0, "")
    # --v is not --visualize, --g not --group-size, --m not --module, --s not --show-complete
    assert "LoadCheck(n=3000, v=1, g=2, m=x, s=True)  run" in out
    assert "plan picture" not in out and not (project / "1").exists()
    # luisy 1.x's helper does not abbreviate either: --n is not --no-ask, --d not --dry-run
    options, rest = cli.parse_args(["--module", MODULE, "LoadCheck", "--n", "3", "--d"])
    assert options["no_ask"] is False and options["dry_run"] is False
    assert rest == ["--module", MODULE, "LoadCheck", "--n", "3", "--d"]


def test_the_script_takes_a_task_parameter_n(project, tmp_path):
    proc = run_luisy("--module", MODULE, "LoadCheck", "--n", "3000", "--dry-run",
                     "--working-dir", str(tmp_path / "wd"), cwd=project)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert "LoadCheck(n=3000, v=0, g=0, m=-, s=False)  run" in proc.stdout


@pytest.mark.parametrize(("task", "given", "param"), [
    ("Workers", ["--workers", "3"], "workers"),
    ("Forceful", ["--force", "all"], "force"),
    ("Switches", ["--show-complete"], "show_complete"),
])
def test_a_task_parameter_named_like_a_luisy_option_is_refused_saying_how(
        project, working_dir, capsys, task, given, param):
    code, out, err = run_main(["--module", MODULE, task, *given, "--working-dir",
                               str(working_dir), "--dry-run"], capsys)
    assert code == 2 and out == ""
    flag = given[0]
    assert one_line(err) == (
        f"luisy: {task}: {flag} is luisy's option and also this task's parameter "
        f"'{param}'; give the task's as --{task}-{flag[2:]} VALUE ({flag} is then luisy's)")


def test_a_parameter_named_like_a_luisy_option_is_given_with_the_task_name(project,
                                                                          working_dir, capsys):
    code, out, _ = run_main(["--module", MODULE, "Workers", "--Workers-workers", "3",
                             "--workers", "2", "--working-dir", str(working_dir), "--dry-run"],
                            capsys)
    assert code == 0 and "Workers(workers=3)  run" in out
    code, out, _ = run_main(["--module", MODULE, "Switches", "--Switches-show-complete",
                             "--working-dir", str(working_dir), "--dry-run"], capsys)
    assert code == 0 and "Switches(show_complete=True)  run" in out
    # --module is luisy's, which needs one: the task's parameter keeps its default, or is
    # given with the task's name
    code, out, _ = run_main(["--module", MODULE, "WithModule", "--working-dir",
                             str(working_dir), "--dry-run"], capsys)
    assert code == 0 and "WithModule(module=none)  run" in out
    code, out, _ = run_main(["--module", MODULE, "WithModule", "--WithModule-module=mine",
                             "--working-dir", str(working_dir), "--dry-run"], capsys)
    assert code == 0 and "WithModule(module=mine)  run" in out


def test_module_given_twice_is_refused_not_the_last_one_taken(project, working_dir, capsys):
    code, _, err = run_main(["--module", MODULE, "WithModule", "--module", "mine",
                             "--working-dir", str(working_dir), "--dry-run"], capsys)
    assert code == 2
    assert one_line(err) == ("luisy: --module is given more than once; if WithModule has a "
                             "parameter named module, give it as --WithModule-module VALUE")


def test_luisy_1x_setting_flags_stay_luisys(project, working_dir, capsys):
    # luisy 1.x took --working-dir before the task saw the command line; its scripts keep
    # that meaning, and the task's parameter of that name is given with the task's name
    code, out, err = run_main(["--module", MODULE, "OwnWorkingDir", "--working-dir",
                               str(working_dir), "--dry-run"], capsys)
    assert (code, err) == (0, "")
    assert "OwnWorkingDir(working_dir=none)  run" in out
    code, out, _ = run_main(["--module", MODULE, "OwnWorkingDir", "--working-dir",
                             str(working_dir), "--OwnWorkingDir-working-dir", "mine",
                             "--dry-run"], capsys)
    assert code == 0 and "OwnWorkingDir(working_dir=mine)  run" in out


def test_a_task_parameter_given_twice_is_refused(project, working_dir, capsys):
    code, _, err = run_main(["--module", MODULE, "LoadCheck", "--n", "1", "--LoadCheck-n", "2",
                             "--working-dir", str(working_dir), "--dry-run"], capsys)
    assert code == 2
    assert one_line(err) == "luisy: LoadCheck: parameter --n is given twice"


# ------------------------------------------------------------------- version and help
def test_version_prints_the_installed_version(project, capsys):
    expected = f"luisy {importlib.metadata.version('luisy')}\n"
    assert run_main(["--version"], capsys) == (0, expected, "")
    proc = run_luisy("--version", cwd=project)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, expected, "")


def test_help_lists_the_subcommands(project, capsys):
    code, out, err = run_main(["--help"], capsys)
    assert (code, err) == (0, "")
    assert cli.SUBCOMMANDS  # every subcommand is listed with its help line
    for name, (help_line, _) in cli.SUBCOMMANDS.items():
        assert f"  {name:<22}{help_line}" in out.splitlines()
    assert "--debug" in out and "--TaskName-name value" in out



@pytest.mark.parametrize("name", sorted(cli.SUBCOMMANDS))
def test_every_subcommand_answers_help_and_refuses_an_unknown_option(name, project, capsys):
    code, out, err = run_main([name, "--help"], capsys)
    assert (code, err) == (0, "")
    assert out.startswith(f"usage: luisy {name} ")
    code, out, err = run_main([name, "--no-such-option"], capsys)
    assert code == 2 and out == ""
    assert err.splitlines()[-1].startswith(f"luisy {name}: error: ")
    assert "cannot read" not in err  # an option is never taken for a file

# ---------------------------------------------------------- one line for every mistake
def test_no_working_dir_anywhere_is_one_line(project, capsys):
    luisy.Config().reset()  # as the environment has it: no WORKING_DIR
    assert luisy.Config().get_param("working_dir") is None
    code, out, err = run_main(["--module", MODULE, "LoadCheck", "--dry-run"], capsys)
    assert (code, out) == (2, "")
    assert one_line(err) == ("luisy: no working dir: give --working-dir DIR or set the "
                             "WORKING_DIR environment variable")
    proc = run_luisy("--module", MODULE, "LoadCheck", "--dry-run", cwd=project)
    assert proc.returncode == 2 and proc.stdout == ""
    assert one_line(proc.stderr).startswith("luisy: no working dir:")
    # the environment's is used when none is given
    proc = run_luisy("--module", MODULE, "LoadCheck", "--dry-run", cwd=project,
                     env={"WORKING_DIR": str(project / "wd")})
    assert (proc.returncode, proc.stderr) == (0, "")


def test_a_working_dir_that_is_a_file_is_one_line(project, tmp_path, capsys):
    file = tmp_path / "data.csv"
    file.write_text("a,b\n")
    code, out, err = run_main(["--module", MODULE, "LoadCheck", "--working-dir", str(file),
                               "--dry-run"], capsys)
    assert (code, out) == (2, "")
    assert one_line(err) == f"luisy: working dir {file} is a file, not a folder"
    proc = run_luisy("--module", MODULE, "LoadCheck", "--working-dir", str(file / "wd"),
                     "--no-ask", cwd=project)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert one_line(proc.stderr) == (f"luisy: working dir {file / 'wd'}: {file} is a file, "
                                     "not a folder")
    assert file.read_text() == "a,b\n"


@pytest.fixture
def read_only_dir(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def test_a_read_only_working_dir(project, read_only_dir, capsys, prefect_server):
    argv = ["--module", MODULE, "LoadCheck", "--n", "5", "--working-dir", str(read_only_dir)]
    # a dry run writes nothing: it works on a read-only working dir
    code, out, err = run_main([*argv, "--dry-run"], capsys)
    assert (code, err) == (0, "") and "LoadCheck(n=5" in out
    code, out, err = run_main([*argv, "--no-ask"], capsys)
    if os.access(read_only_dir, os.W_OK):  # root: the mode does not stop writes; it builds
        assert code == 0, err
        assert "[1/1] done" in out
    else:
        assert code == 2
        assert one_line(err) == (f"luisy: working dir {read_only_dir}: cannot write in "
                                 f"{read_only_dir} (permission denied); nothing was run")
        assert os.listdir(read_only_dir) == []


def test_a_working_dir_with_spaces_and_unicode_builds(project, tmp_path, capsys,
                                                      prefect_server):
    wd = tmp_path / "my data ü 数据"
    code, out, err = run_main(["--module", MODULE, "LoadCheck", "--n", "7", "--working-dir",
                               str(wd), "--no-ask"], capsys)
    assert code == 0, err
    assert "[1/1] done" in out and "This progress looks :)" in out
    luisy.Config().set_param("working_dir", str(wd))
    task = sys.modules[MODULE].LoadCheck(n=7)
    assert task.output().path.startswith(str(wd) + os.sep)
    assert task.complete() and task.read() == {"n": 7}


@pytest.mark.parametrize(("source", "error"), [
    ("def broken(:\n", "SyntaxError: invalid syntax (cli_answers_bad_0.py, line 1)"),
    ("raise RuntimeError('database down')\n", "RuntimeError: database down"),
    ("import cli_answers_no_such_dep\n",
     "ModuleNotFoundError: No module named 'cli_answers_no_such_dep'"),
    ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
    (None, "ModuleNotFoundError: No module named 'cli_answers_bad_4' (looked in the current "
           "dir {cwd} and the installed packages)"),
])
def test_a_module_that_cannot_be_imported_is_one_line_naming_it(project, working_dir, capsys,
                                                                request, source, error):
    name = f"cli_answers_bad_{request.node.callspec.indices['source']}"
    if source is not None:
        (project / f"{name}.py").write_text(source)
    code, out, err = run_main(["--module", name, "LoadCheck", "--working-dir",
                               str(working_dir), "--dry-run"], capsys)
    assert (code, out) == (2, "")
    assert one_line(err) == f"luisy: cannot import module '{name}': " + error.format(
        cwd=project)
    assert name not in sys.modules


def test_the_script_names_a_broken_module_and_shows_the_traceback_with_debug(project,
                                                                            tmp_path):
    (project / "cli_answers_raises.py").write_text("raise RuntimeError('database down')\n")
    argv = ["--module", "cli_answers_raises", "Report", "--working-dir", str(tmp_path / "wd")]
    proc = run_luisy(*argv, cwd=project)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert one_line(proc.stderr) == ("luisy: cannot import module 'cli_answers_raises': "
                                     "RuntimeError: database down")
    proc = run_luisy(*argv, "--debug", cwd=project)
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr
    assert "raise RuntimeError('database down')" in proc.stderr  # the module's own line
    assert proc.stderr.splitlines()[-1] == ("luisy: cannot import module "
                                            "'cli_answers_raises': RuntimeError: database down")


def test_a_task_not_in_the_module_is_one_line_listing_its_tasks(project, working_dir, capsys):
    code, out, err = run_main(["--module", MODULE, "LoadChek", "--working-dir",
                               str(working_dir), "--dry-run"], capsys)
    assert (code, out) == (2, "")
    assert one_line(err) == (f"luisy: {MODULE} has no task class 'LoadChek' (its task "
                             "classes: Boom, Forceful, LoadCheck, OwnWorkingDir, Switches, "
                             "Unlucky, WithModule, Workers)")


def test_usage_errors_are_argparses_in_one_short_line(project, capsys):
    code, out, err = run_main(["--module", MODULE, "LoadCheck", "--workers", "many"], capsys)
    assert (code, out) == (2, "")
    assert one_line(err) == ("luisy: error: argument --workers: invalid int value: 'many' "
                             "(see luisy --help)")
    proc = run_luisy("--module", MODULE, cwd=project)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert one_line(proc.stderr) == ("luisy: error: the following arguments are required: "
                                     "task (see luisy --help)")


def test_an_unexpected_error_is_one_line_with_its_type(project, working_dir, capsys):
    argv = ["--module", MODULE, "Unlucky", "--working-dir", str(working_dir), "--dry-run"]
    code, out, err = run_main(argv, capsys)
    assert (code, out) == (1, "")
    assert one_line(err) == ("luisy: ZeroDivisionError: division by zero (run with --debug "
                             "for the traceback)")
    code, _, err = run_main([*argv, "--debug"], capsys)
    assert code == 1
    assert "Traceback" in err and "return 1 / 0" in err
    assert err.splitlines()[-1] == "luisy: ZeroDivisionError: division by zero"


def test_ctrl_c_is_never_swallowed(project, working_dir, tmp_path):
    (project / "cli_answers_interrupted.py").write_text("raise KeyboardInterrupt\n")
    argv = ["--module", "cli_answers_interrupted", "Report", "--working-dir", str(working_dir)]
    with pytest.raises(KeyboardInterrupt):
        cli.main(argv)
    proc = run_luisy(*argv, cwd=project)
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "luisy: interrupted\n")


# ---------------------------------------------------------------- a task that fails
def test_a_failed_task_reads_luisys_line_first_then_its_traceback(project, tmp_path,
                                                                  prefect_server):
    proc = subprocess.run(
        [LUISY, "--module", MODULE, "Boom", "--working-dir", str(tmp_path / "wd"), "--no-ask"],
        cwd=project, env={k: v for k, v in os.environ.items() if k != "WORKING_DIR"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    terminal = proc.stdout
    assert proc.returncode == 1, terminal
    (failed,) = [line for line in terminal.splitlines() if "FAILED Boom(): " in line]
    assert failed.endswith("ValueError: boom in Boom")  # the task, then its error
    # luisy's lines first, then the task's own traceback, and luisy's verdict last
    assert terminal.index("[1/1] failed          Boom()") < terminal.index(failed) \
        < terminal.index("Traceback") < terminal.index("This progress looks :(")
    assert 'raise ValueError("boom in Boom")' in terminal
    assert terminal.splitlines()[-1] == "This progress looks :( because there were failed tasks"
    # the flow run's BuildFailed only repeats the summary, with luisy's scheduler's frames
    assert "BuildFailed" not in terminal and "runner.py" not in terminal
    assert terminal.count("Traceback") == 1
