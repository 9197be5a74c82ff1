"""A luisy 1.x project end to end: built by the real luisy 1.4.7, then taken over by luisy 2.

The project (written below into a temporary folder) uses 1.x idioms only: luigi parameters,
1.x decorators, ``luisy.cli.build`` and ``.tasks_set``. luisy 1.4.7 runs in its own venv
(``bench/luisy1_venv.py``, made on first use), so its ``.luisy.hash`` is 1.x's own.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.prefect, pytest.mark.luisy1]

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from luisy1_venv import ensure_luisy1_venv  # noqa: E402

TASKS = '''"""A luisy 1.x project: luigi parameters, 1.x decorators, nothing of luisy 2."""
import luigi

import luisy


@luisy.raw
@luisy.csv_output
class Delivery(luisy.ExternalTask):
    def get_file_name(self):
        return "delivery"


@luisy.interim
@luisy.requires(Delivery)
class Clean(luisy.Task):
    factor = luigi.IntParameter(default=2)

    def run(self):
        frame = self.input().read()
        self.write([int(x) * self.factor for x in frame["x"]])


@luisy.final
@luisy.requires(Clean)
class Report(luisy.Task):
    def run(self):
        self.write({"total": sum(self.input().read())})
'''

#: one build, as a 1.x user scripts it; prints what ``.tasks_set`` holds
BUILD = '''
import json, sys
from luisy.cli import build
import l1e2e.tasks as t
result = build(t.Report(), workers=1, hash_update_mode=sys.argv[1] == "adopt")
print("SETS " + json.dumps({k: sorted(map(str, v)) for k, v in result.tasks_set.items() if v}))
'''

OUTPUTS = ["/l1e2e/raw/delivery.csv", "/l1e2e/interim/Clean_factor=2.pkl",
           "/l1e2e/final/Report_factor=2.pkl"]


@pytest.fixture(scope="module")
def luisy1_python() -> str:
    return ensure_luisy1_venv()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "l1e2e").mkdir()
    (tmp_path / "l1e2e" / "__init__.py").write_text("")
    (tmp_path / "l1e2e" / "tasks.py").write_text(TASKS)
    (tmp_path / "build.py").write_text(BUILD)
    # 1.x hashes the versions of what a project imports, from its requirements file
    (tmp_path / "requirements.txt").write_text("pandas\nluisy\nluigi\n")
    raw = tmp_path / "wd" / "l1e2e" / "raw"
    raw.mkdir(parents=True)
    (raw / "delivery.csv").write_text("x\n1\n2\n3\n")
    return tmp_path


def _build(python: str, project: Path, mode: str = "build") -> dict[str, list[str]]:
    env = {**os.environ, "WORKING_DIR": str(project / "wd"), "PYTHONPATH": str(project),
           "LUISY_REQUIREMENTS_PATH": str(project / "requirements.txt")}
    run = subprocess.run([python, "build.py", mode], cwd=project, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (line,) = [x for x in run.stdout.splitlines() if x.startswith("SETS ")]
    return json.loads(line[5:])


def _hashes(project: Path) -> dict[str, str]:
    return json.loads((project / "wd" / "l1e2e" / ".luisy.hash").read_text())


def _outputs(project: Path) -> dict[str, bytes]:
    return {rel: (project / "wd" / rel.lstrip("/")).read_bytes() for rel in OUTPUTS}


def test_luisy2_builds_the_1x_project_as_1x_would(project, prefect_server):
    sets = _build(sys.executable, project)
    assert sets == {"completed": ["Clean(factor=2)", "Report(factor=2)"],
                    "already_done": ["Delivery()"]}
    assert set(_hashes(project)) == set(OUTPUTS)  # 1.x's spelling, external entry too
    assert _build(sys.executable, project) == {"already_done": ["Report(factor=2)"]}


def test_a_1x_working_dir_is_adopted_then_no_ops_and_reruns_on_an_edit(
        project, luisy1_python, prefect_server):
    assert _build(luisy1_python, project) == {"completed": ["Clean(factor=2)",
                                                            "Report(factor=2)"],
                                              "already_done": ["Delivery()"]}
    by_1x = _hashes(project)
    assert set(by_1x) == set(OUTPUTS)
    built = _outputs(project)

    # hash-update mode: luisy 2 takes the 1.x outputs as they are
    _build(sys.executable, project, "adopt")
    adopted = _hashes(project)
    assert set(adopted) == set(OUTPUTS)  # one entry per output, 1.x's spelling
    assert all(adopted[rel] != by_1x[rel] for rel in OUTPUTS)  # luisy 2's keys now
    assert _outputs(project) == built

    # a no-op rebuild
    assert _build(sys.executable, project) == {"already_done": ["Report(factor=2)"]}
    assert _outputs(project) == built

    # a code edit reruns what it affects, only that
    tasks = project / "l1e2e" / "tasks.py"
    tasks.write_text(tasks.read_text().replace(
        'self.write({"total": sum(self.input().read())})',
        'self.write({"total": sum(self.input().read()), "edited": True})'))
    assert _build(sys.executable, project) == {"completed": ["Report(factor=2)"],
                                               "already_done": ["Clean(factor=2)"]}
    after = _outputs(project)
    clean = "/l1e2e/interim/Clean_factor=2.pkl"
    assert after[clean] == built[clean]
    assert pickle.loads(after["/l1e2e/final/Report_factor=2.pkl"]) == {"total": 12,
                                                                      "edited": True}
