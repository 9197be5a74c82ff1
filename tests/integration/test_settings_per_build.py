"""Settings belong to a build, not to the process; a library leaves its host alone.

Each ``build()`` and each run of a ``luisy.flow`` flow carries its own settings in a context
variable; ``Config()`` holds the process defaults, read when a build starts and never changed
by it. Real builds on the test session's Prefect server, real files.
"""
from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading

import pytest
from itasks import Leaf

import luisy
from luisy import Config

pytestmark = pytest.mark.prefect


@pytest.fixture(autouse=True)
def _server(prefect_server):
    Config().reset()
    yield
    Config().reset()


def _outputs(folder) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), folder)
            for d, _, files in os.walk(folder) for f in files
            if f.endswith(".pkl")}


def test_a_build_uses_its_own_working_dir_and_leaves_config_alone(tmp_path):
    default, own = tmp_path / "default", tmp_path / "own"
    Config().set_param("working_dir", str(default))
    summary = luisy.build(Leaf(i=1), working_dir=str(own))
    assert summary.ok
    assert Config().get_param("working_dir") == str(default)
    assert _outputs(own) and not default.exists()
    # the next build without its own working dir uses the process default again
    assert luisy.build(Leaf(i=1)).ok
    assert _outputs(default) == _outputs(own)


def test_config_read_inside_run_answers_with_the_builds_settings(tmp_path):
    # luisy 1.x code reads Config() in run(); 1.x's build() had set it, luisy 2 answers with
    # the build's settings without changing the process defaults
    seen = {}

    class ReadsConfig(Leaf):
        def run(self):
            seen["working_dir"] = Config().get_param("working_dir")
            seen["property"] = Config().working_dir
            super().run()

    assert luisy.build(ReadsConfig(i=7), working_dir=str(tmp_path / "own")).ok
    assert seen == {"working_dir": str(tmp_path / "own"), "property": str(tmp_path / "own")}
    assert Config().get_param("working_dir") is None


def test_builds_in_two_threads_with_different_working_dirs_write_to_their_own(tmp_path):
    dirs = [tmp_path / f"wd{n}" for n in range(2)]
    results: dict[int, object] = {}
    barrier = threading.Barrier(2)

    def build(n: int) -> None:
        barrier.wait()
        results[n] = luisy.build(Leaf(i=10 + n), working_dir=str(dirs[n]))

    threads = [threading.Thread(target=build, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(results[n].ok for n in range(2)), results
    for n in range(2):
        names = {os.path.basename(p) for p in _outputs(dirs[n])}
        assert names == {f"Leaf_i={10 + n}_sleep=0.0.pkl"}, (n, names)


def test_two_flow_runs_in_one_process_never_see_each_others_working_dir(tmp_path):
    default, given = tmp_path / "default", tmp_path / "given"
    Config().set_param("working_dir", str(default))
    flow = luisy.flow(Leaf)
    flow(i=3, working_dir=str(given))
    flow(i=4)  # no working dir: the process default, not the previous run's
    assert {os.path.basename(p) for p in _outputs(given)} == {"Leaf_i=3_sleep=0.0.pkl"}
    assert {os.path.basename(p) for p in _outputs(default)} == {"Leaf_i=4_sleep=0.0.pkl"}
    assert Config().get_param("working_dir") == str(default)


def test_a_build_leaves_the_collector_the_path_and_the_environment_as_they_were(tmp_path):
    Config().set_param("working_dir", str(tmp_path))
    path, environ = list(sys.path), dict(os.environ)
    enabled, frozen = gc.isenabled(), gc.get_freeze_count()
    seen: dict[str, object] = {}

    class Probe(Leaf):
        def run(self):
            seen["gc"] = (gc.isenabled(), gc.get_freeze_count())
            super().run()

    assert luisy.build(Probe(i=5)).ok
    assert seen["gc"] == (enabled, frozen)  # nothing frozen or paused while tasks run
    assert (gc.isenabled(), gc.get_freeze_count()) == (enabled, frozen)
    assert sys.path == path
    assert {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")} == {
        k: v for k, v in environ.items() if not k.startswith("PYTEST_")}


_IMPORTS = """
import json, sys
{body}
print(json.dumps(sorted(m for m in ("prefect", "pandas", "pyspark") if m in sys.modules)))
"""


def _imported(body: str, cwd) -> list[str]:
    out = subprocess.run([sys.executable, "-c", _IMPORTS.format(body=body)], cwd=cwd,
                         capture_output=True, text=True, timeout=120, check=True,
                         env={**os.environ, "PYTHONPATH": os.path.dirname(__file__)})
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_luisy_imports_neither_prefect_pandas_nor_pyspark(tmp_path):
    assert _imported("import luisy", tmp_path) == []


def test_a_dry_run_and_a_no_op_rebuild_import_neither_prefect_nor_pandas(tmp_path):
    assert luisy.build(Leaf(i=6), working_dir=str(tmp_path)).ok
    setup = ("import luisy\nfrom itasks import Leaf\n"
             f"luisy.Config().set_param('working_dir', {str(tmp_path)!r})\n")
    dry = setup + "assert luisy.plan(Leaf(i=6)).steps[Leaf(i=6)].decision.value == 'complete'"
    assert _imported(dry, tmp_path) == []
    no_op = setup + "s = luisy.build(Leaf(i=6))\nassert s.already_done == {Leaf(i=6)}, s"
    assert _imported(no_op, tmp_path) == []
    cli = ("from luisy.cli import main\n"
           f"assert main(['--module', 'itasks', 'Leaf', '--i', '6', "
           f"'--working-dir', {str(tmp_path)!r}]) == 0")
    assert _imported(cli, tmp_path) == []
