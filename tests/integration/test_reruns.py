"""Reruns (issue 3): a real package on disk, edited between real ``luisy`` CLI runs.

The project (``reruns_support/rrpkg``)::

    Source (external) -> Cleaned (from .utils import clean)  -> Scaled (FACTOR) -+
                      -> Other   (utils.other)                                  |
                      -> Frame   (pandas)                                       +-> Root
                      -> Dynamic (getattr(dynmod, NAME))                        |
                      -> Starred (from .starmod import *)                      -+
    Leaf(i) x 8 -> Side   (a second, independent graph)

It is built once per module by the CLI (``template``); each test copies the built project and
its working dir, edits source files, runs ``luisy`` as a subprocess exactly as a user would,
and asserts the exact set of tasks that ran (from the progress lines) and the decisions and
reasons (from the plan table the CLI prints first). The copies keep the package name: every
run is a fresh interpreter (and ``PYTHONDONTWRITEBYTECODE`` keeps stale bytecode out), so module
caches cannot collide; the one test that imports a project in-process gets its own name.
"""
import importlib
import importlib.metadata
import itertools
import json
import pickle
import shutil
import sys

import pytest
from reruns_support import OUTPUTS, ROOT_TASKS, Project

import luisy
from luisy.cache import clear_cache

pytestmark = pytest.mark.usefixtures("prefect_server")

NAME = "rrpkg"
UP_TO_DATE = ("complete", "up to date")
_unique = itertools.count()


@pytest.fixture(scope="module")
def template(tmp_path_factory, prefect_server):
    """The project built once by the CLI: every task ran, except the external one."""
    root = tmp_path_factory.mktemp("reruns-template")
    project = Project.create(root, NAME)
    run = project.luisy()
    assert run.code == 0, run
    assert run.ran == ROOT_TASKS, run
    assert run.plan["Source()"] == ("complete", "external data present"), run
    assert {t: r for t, (_, r) in run.plan.items() if t != "Source()"} == dict.fromkeys(
        ROOT_TASKS, "no output"), run
    assert project.read_output("Root()") == {
        "Scaled": 120, "Other": 15, "Frame": 5, "Dynamic": 10, "Starred": 105}
    return root


@pytest.fixture
def project(template, tmp_path):
    """A copy of the built project, for one test to edit."""
    root = tmp_path / "project"
    shutil.copytree(template, root)
    return Project(root, NAME)


def assert_reruns(run, expected: set[str], code: int = 0) -> None:
    """Exactly ``expected`` ran; the plan said run for them and up to date for the others."""
    assert run.code == code, run
    assert run.ran == expected, run
    assert run.with_decision("run") == expected, run
    for task in ROOT_TASKS - expected:
        assert run.plan[task] == UP_TO_DATE, run


# ---------------------------------------------------------------------------- code changes
def test_helper_change_reruns_its_task_and_all_downstream_and_nothing_else(project):
    before = project.outputs_bytes()
    project.edit("utils", "return _offset(x) * 10", "return _offset(x) * 100")

    run = project.luisy()

    assert_reruns(run, {"Cleaned()", "Scaled()", "Root()"})
    assert run.reason("Cleaned()") == f"code changed: {NAME}.utils.clean"
    assert run.reason("Scaled()") == "upstream changed: Cleaned()"
    assert run.reason("Root()") == "upstream changed: Scaled()"
    assert project.read_output("Root()")["Scaled"] == 1200
    after = project.outputs_bytes()
    assert {t for t in OUTPUTS if before[t] != after[t]} == {"Cleaned()", "Scaled()", "Root()"}


def test_reformatting_comments_and_docstrings_rerun_nothing(project):
    hashes = project.hash_path.read_bytes()
    project.edit("utils", '"""Helpers the tasks use."""', '"""Helpers, reworded."""\n# comment')
    project.edit("utils", "def clean(x):\n    return _offset(x) * 10",
                 'def clean(\n    x,\n):  # trailing comment\n    """Now documented."""\n'
                 "    # a comment line\n    return (\n        _offset(x)\n        * 10\n    )")
    project.edit("utils", "FACTOR = 2", "FACTOR = (  # the factor\n    2\n)\n\n")
    project.edit("tasks", "class Cleaned(luisy.Task):\n",
                 'class Cleaned(luisy.Task):\n    """Cleaned data."""\n\n')
    project.edit("tasks", "self.write(utils.other(self.input().read()))",
                 "self.write(  # reflowed\n            utils.other(\n"
                 "                self.input().read()\n            )\n        )")
    project.edit("dynmod", "return 3 * x", "# three times\n    return 3 * x  # tripled")
    project.edit("dyntask", "import luisy", "# the whole module counts, but not its comments\n"
                 "import luisy")
    project.edit("starmod", "def star_other(x):", "def star_other(x):\n    '''Documented.'''")
    project.edit("source", "class Source(luisy.ExternalTask):",
                 "class Source(luisy.ExternalTask):  # external")

    run = project.luisy()

    assert_reruns(run, set())
    assert project.hash_path.read_bytes() == hashes


def test_constant_change_reruns_its_users(project):
    project.edit("utils", "FACTOR = 2", "FACTOR = 3")

    run = project.luisy()

    assert_reruns(run, {"Scaled()", "Root()"})
    assert run.reason("Scaled()") == f"code changed: {NAME}.utils.FACTOR"
    assert run.reason("Root()") == "upstream changed: Scaled()"
    assert project.read_output("Root()")["Scaled"] == 180


def test_module_attribute_helper_is_followed_precisely(project):
    # a function of the module that no task uses: nothing reruns
    project.edit("utils", "return x - 1", "return x - 2")
    assert_reruns(project.luisy(), set())

    project.edit("utils", "return x * 3", "return x * 4")
    run = project.luisy()

    assert_reruns(run, {"Other()", "Root()"})
    assert run.reason("Other()") == f"code changed: {NAME}.utils.other"
    assert run.reason("Root()") == "upstream changed: Other()"
    assert project.read_output("Root()")["Other"] == 20


def test_changed_library_version_reruns_only_the_tasks_importing_it(project):
    installed = importlib.metadata.version("pandas")
    pins = {"LUISY_REQUIREMENTS_PATH": str(project.pins)}
    project.pins.write_text("# pinned as in luisy 1.x\npandas==1.0.0\npyarrow==1.0\n")
    # hash-update mode: take the pinned version as the recorded one, run nothing
    run = project.luisy("Root", "--hash-update-mode", env=pins)
    assert run.code == 0, run
    assert run.ran == set(), run
    assert run.with_decision("run") == {"Frame()", "Root()"}, run
    assert run.reason("Frame()") == f"library changed: pandas {installed} -> 1.0.0"

    project.pins.write_text("pandas==9.9.9\npyarrow==1.0\n")
    run = project.luisy(env=pins)

    assert_reruns(run, {"Frame()", "Root()"})
    assert run.reason("Frame()") == "library changed: pandas 1.0.0 -> 9.9.9"
    assert run.reason("Root()") == "upstream changed: Frame()"


def test_unfollowable_code_takes_the_whole_module(project):
    # Dynamic calls getattr(dynmod, NAME) and Starred does `from .starmod import *`: a change
    # to any function of those modules, even one they do not call, reruns them
    project.edit("dynmod", "return 3 * x", "return 4 * x")
    project.edit("starmod", "return x + 200", "return x + 300")

    run = project.luisy()

    assert_reruns(run, {"Dynamic()", "Starred()", "Root()"})
    assert run.reason("Dynamic()") == f"code changed: {NAME}.dynmod"
    assert run.reason("Starred()") == f"code changed: {NAME}.starmod"
    assert run.reason("Root()").startswith("upstream changed: ")
    assert set(run.reason("Root()").removeprefix("upstream changed: ").split(", ")) == {
        "Dynamic()", "Starred()"}


# ------------------------------------------------------------------ external and failures
def test_missing_external_data_stops_the_build_and_names_the_file(project):
    before = project.outputs_bytes()
    project.output("Source()").unlink()
    project.edit("utils", "return _offset(x) * 10", "return _offset(x) * 100")

    run = project.luisy()

    assert run.code == 1, run
    assert run.events == {}, run
    assert run.plan["Source()"][0] == "missing external", run
    assert str(project.output("Source()")) in run.err, run
    assert project.outputs_bytes() == {t: b for t, b in before.items() if t != "Source()"}


def test_failed_task_loses_its_entry_and_keeps_its_old_output(project):
    # luisy 1.x kept a failed task's old entry; luisy 2 forgets it before the rerun starts, so
    # whatever the failed run left behind is never taken for complete (issue: completion
    # never lies). The old bytes stay where they were.
    before_hashes = project.hashes()
    before = project.outputs_bytes()
    project.edit("utils", "return _offset(x) * 10", 'raise ValueError("clean is broken")')
    project.edit("utils", "return x * 3", "return x * 4")  # a task that succeeds meanwhile

    run = project.luisy()

    assert run.code == 1, run
    assert run.events == {"Cleaned()": "failed", "Other()": "done",
                          "Scaled()": "upstream failed", "Root()": "upstream failed"}, run
    assert "clean is broken" in run.out, run
    after_hashes = project.hashes()
    assert after_hashes[project.rel("Other()")] != before_hashes[project.rel("Other()")]
    assert project.rel("Cleaned()") not in after_hashes
    unchanged = {project.rel("Other()"), project.rel("Cleaned()")}
    assert {k: v for k, v in after_hashes.items() if k not in unchanged} == {
        k: v for k, v in before_hashes.items() if k not in unchanged}
    after = project.outputs_bytes()
    assert {t for t in OUTPUTS if before[t] != after[t]} == {"Other()"}

    project.edit("utils", 'raise ValueError("clean is broken")', "return _offset(x) * 10")
    run = project.luisy()

    # no key vouches for Cleaned's bytes, but its key is as before, so Scaled (which used the
    # old ones) stays complete and Cleaned is not needed; Root needs the new Other
    assert run.code == 0 and run.ran == {"Root()"}, run
    assert run.plan["Cleaned()"] == ("not needed", "no recorded key, but Scaled() is complete")
    assert run.reason("Root()") == "upstream changed: Other()"


# ------------------------------------------------------------------------ hash-update mode
def test_hash_update_mode_accepts_the_current_code_without_running(project):
    before_hashes = project.hashes()
    before = project.outputs_bytes()
    project.edit("utils", "return x + 1", "return x + 2")  # _offset, used by clean

    run = project.luisy("Root", "--hash-update-mode")

    assert run.code == 0, run
    assert run.events == {}, run
    assert run.with_decision("run") == {"Cleaned()", "Scaled()", "Root()"}, run
    assert run.reason("Cleaned()") == f"code changed: {NAME}.utils._offset"
    assert "Recorded current keys for 3 existing output(s)" in run.out, run
    assert project.outputs_bytes() == before
    after_hashes = project.hashes()
    assert {k for k in before_hashes if after_hashes[k] != before_hashes[k]} == {
        project.rel(t) for t in ("Cleaned()", "Scaled()", "Root()")}

    run = project.luisy()
    assert_reruns(run, set())
    assert project.outputs_bytes() == before


def test_luisy_1x_working_dir_is_adopted_without_rerunning(tmp_path):
    project = Project.create(tmp_path, NAME)
    for i, task in enumerate(sorted(ROOT_TASKS)):
        project.write_output(task, {"built by luisy 1.x": i})
    made_up = {project.rel(t): f"{i:032x}" for i, t in enumerate(sorted(ROOT_TASKS))}
    made_up[f"/{NAME}/interim/Retired_month=2020-01.pkl"] = "f" * 32  # a task since removed
    made_up[f"/{NAME}/raw/Source.pkl"] = "e" * 32  # 1.x kept entries of external data too
    project.hash_path.write_text(json.dumps(made_up))
    before = project.outputs_bytes()

    run = project.luisy("Root", "--hash-update-mode")

    assert run.code == 0, run
    assert run.events == {}, run
    assert run.with_decision("run") == ROOT_TASKS, run
    assert "Recorded current keys for 7 existing output(s)" in run.out, run
    hashes = project.hashes()
    assert set(hashes) == set(made_up)
    assert hashes[f"/{NAME}/interim/Retired_month=2020-01.pkl"] == "f" * 32
    assert all(hashes[project.rel(t)] != made_up[project.rel(t)] for t in ROOT_TASKS)

    run = project.luisy()
    assert_reruns(run, set())
    assert project.outputs_bytes() == before
    assert project.read_output("Root()") == {"built by luisy 1.x": sorted(ROOT_TASKS).index(
        "Root()")}


# ---------------------------------------------------------------------------- concurrency
def test_two_builds_at_once_on_one_working_dir_keep_each_others_entries(tmp_path):
    project = Project.create(tmp_path, NAME)
    root = project.start("Root", "--workers", "2")
    side = project.start("Side", "--workers", "2")
    runs = [project.finish(root), project.finish(side)]

    leaves = {f"Leaf(i={i})" for i in range(8)}
    assert runs[0].code == 0, runs[0]
    assert runs[0].ran == ROOT_TASKS, runs[0]
    assert runs[1].code == 0, runs[1]
    assert runs[1].ran == leaves | {"Side(n=8)"}, runs[1]
    hashes = json.loads(project.hash_path.read_text())  # valid JSON
    expected = {project.rel(t) for t in ROOT_TASKS} | {
        f"/{NAME}/interim/Leaf_i={i}.pkl" for i in range(8)} | {
        f"/{NAME}/final/Side_n=8.pkl", f"/{NAME}/raw/Source.pkl"}
    assert set(hashes) == expected
    details = json.loads((project.folder / ".luisy.keys.json").read_text())
    assert set(details["outputs"]) == expected

    again = [project.start("Root"), project.start("Side")]
    for proc in again:
        run = project.finish(proc)
        assert run.code == 0 and run.events == {}, run
        assert run.with_decision("run") == set(), run


# ---------------------------------------------------------------------------------- asking
def test_cli_asks_before_replacing_an_outdated_output(project):
    before_hashes = project.hash_path.read_bytes()
    before = project.outputs_bytes()
    project.edit("utils", "return _offset(x) * 10", "return _offset(x) * 100")

    run = project.luisy(ask=True, stdin="n\n")

    assert run.code == 1, run
    assert run.events == {}, run
    assert "3 outdated output(s) will be replaced" in run.out, run
    assert str(project.output("Cleaned()")) in run.out, run
    assert "Continue? [y/N]" in run.out, run
    assert project.outputs_bytes() == before
    assert project.hash_path.read_bytes() == before_hashes

    run = project.luisy(ask=True, stdin="y\n")
    assert_reruns(run, {"Cleaned()", "Scaled()", "Root()"})
    assert project.read_output("Cleaned()") == 600


# ---------------------------------------------------------------------------- luisy.plan
@pytest.fixture
def inprocess_project(tmp_path, working_dir):
    """A project under a name of its own, importable in this process."""
    name = f"rrpkg_inproc{next(_unique)}"
    project = Project.create(tmp_path, name)
    assert project.wd == working_dir
    sys.path.insert(0, str(tmp_path))
    yield project
    sys.path.remove(str(tmp_path))
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]
    clear_cache()


def test_plan_in_process_matches_the_cli_dry_run(inprocess_project):
    project = inprocess_project
    tasks = importlib.import_module(f"{project.name}.tasks")
    summary = luisy.build(tasks.Root())
    assert {str(t) for t in summary.completed} == ROOT_TASKS
    project.edit("utils", "return _offset(x) * 10", "return _offset(x) * 100")
    project.output("Other()").unlink()

    clear_cache()  # the files changed under this process
    plan = luisy.plan(tasks.Root())
    in_process = {str(t): (s.decision.value, s.reason) for t, s in plan.steps.items()}
    run = project.luisy("Root", "--dry-run")

    assert run.code == 0, run
    assert run.events == {}
    assert in_process == run.plan
    assert in_process["Cleaned()"] == ("run", f"code changed: {project.name}.utils.clean")
    assert in_process["Other()"] == ("run", "no output")
    assert in_process["Source()"] == ("complete", "external data present")
    assert {t for t, (d, _) in in_process.items() if d == "run"} == {
        "Cleaned()", "Scaled()", "Other()", "Root()"}
    assert pickle.loads(project.output("Cleaned()").read_bytes()) == 60  # dry run: untouched

    # build(..., hash_update_mode=True): the existing outputs take the current keys
    summary = luisy.build(tasks.Root(), hash_update_mode=True)
    assert {str(t) for t in summary.adopted} == {"Cleaned()", "Scaled()", "Root()"}
    assert summary.completed == set()
    steps = luisy.plan(tasks.Root()).steps
    after = {str(t): (s.decision.value, s.reason) for t, s in steps.items()}
    assert after.pop("Other()") == ("not needed", "no output, but Root() is complete")
    assert all(decision == "complete" for decision, _ in after.values()), after
    assert pickle.loads(project.output("Cleaned()").read_bytes()) == 60
