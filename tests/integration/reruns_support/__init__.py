"""A user project on disk, edited between real ``luisy`` CLI runs (see test_reruns.py).

``rrpkg/`` beside this file is the project's source. It imports its own modules relatively,
so a copy works under any package name. :class:`Project` runs the CLI as a subprocess in the
project folder, as a user would, and parses what it printed: the plan table
(``TASK  DECISION  REASON``) and the progress lines (``[i/n] done  Task()  0.01s``).
"""
from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATE = Path(__file__).parent / "rrpkg"
LUISY = Path(sys.executable).with_name("luisy")

#: every task of Root's graph that luisy runs (Source is external)
ROOT_TASKS = frozenset(
    {"Cleaned()", "Scaled()", "Other()", "Frame()", "Dynamic()", "Starred()", "Root()"})
#: output paths, relative to the project folder in the working dir, as luisy 1.x laid them out
OUTPUTS = {
    "Source()": "raw/Source.pkl",
    "Cleaned()": "interim/Cleaned.pkl",
    "Scaled()": "interim/Scaled.pkl",
    "Other()": "interim/Other.pkl",
    "Frame()": "interim/Frame.pkl",
    "Dynamic()": "interim/Dynamic.pkl",
    "Starred()": "interim/Starred.pkl",
    "Root()": "final/Root.pkl",
}
SOURCE_VALUE = 5

# not anchored: after "Continue? [y/N] " the first progress line shares the prompt's line
_PROGRESS = re.compile(r"\[\s*\d+/\d+\] (done|failed|upstream failed)\s+(\S.*?)(\s+\d+\.\d+s)?$")


@dataclass
class Run:
    """What one ``luisy`` invocation printed and returned."""

    args: list[str]
    code: int
    out: str
    err: str
    #: task -> (decision, reason), from the plan table
    plan: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: task -> progress event ("done", "failed", "upstream failed")
    events: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.plan = parse_plan(self.out)
        for line in self.out.splitlines():
            match = _PROGRESS.search(line.strip())
            if match:
                assert match.group(2) not in self.events, f"{match.group(2)} reported twice"
                self.events[match.group(2)] = match.group(1)
        # external tasks never run, whatever happens
        assert not {t for t in self.events if t.startswith("Source")}, self

    @property
    def ran(self) -> set[str]:
        """Tasks that ran and finished."""
        return {t for t, e in self.events.items() if e == "done"}

    def with_decision(self, decision: str) -> set[str]:
        return {t for t, (d, _) in self.plan.items() if d == decision}

    def reason(self, task: str) -> str:
        return self.plan[task][1]

    def __str__(self) -> str:
        return (f"$ luisy {' '.join(self.args)}\n-> exit code {self.code}\n"
                f"--- stdout\n{self.out}\n--- stderr\n{self.err[-4000:]}")


def parse_plan(out: str) -> dict[str, tuple[str, str]]:
    """The plan table the CLI prints first: columns found from the header's positions."""
    lines = out.splitlines()
    starts = [i for i, line in enumerate(lines)
              if line.startswith("TASK ") and "  DECISION  " in line and line.endswith("REASON")]
    if not starts:
        return {}
    header = lines[starts[0]]
    dec_col, reason_col = header.index("DECISION"), header.index("REASON")
    plan = {}
    for line in lines[starts[0] + 1:]:
        if line.startswith("-- "):
            break
        plan[line[:dec_col].strip()] = (line[dec_col:reason_col].strip(),
                                        line[reason_col:].strip())
    return plan


class Project:
    """A copy of ``rrpkg`` named ``name`` in ``root`` (the cwd of every run), with its working
    dir ``root/wd``."""

    def __init__(self, root: Path, name: str):
        self.root = root
        self.name = name
        self.pkg = root / name
        self.wd = root / "wd"
        self.pins = root / "requirements.txt"
        self.env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        for var in ("LUISY_REQUIREMENTS_PATH", "WORKING_DIR"):
            self.env.pop(var, None)

    @classmethod
    def create(cls, root: Path, name: str, source_value: int | None = SOURCE_VALUE) -> Project:
        shutil.copytree(TEMPLATE, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        project = cls(root, name)
        project.wd.mkdir(exist_ok=True)
        if source_value is not None:
            project.write_output("Source()", source_value)
        return project

    # ------------------------------------------------------------------ files
    @property
    def folder(self) -> Path:
        """The project's folder in the working dir (where ``.luisy.hash`` lives)."""
        return self.wd / self.name

    def output(self, task: str) -> Path:
        return self.folder / OUTPUTS[task]

    def rel(self, task: str) -> str:
        """The output's ``.luisy.hash`` key: its path relative to the working dir."""
        return f"/{self.name}/{OUTPUTS[task]}"

    def write_output(self, task: str, obj: object) -> None:
        path = self.output(task)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(obj))

    def read_output(self, task: str) -> object:
        return pickle.loads(self.output(task).read_bytes())

    def outputs_bytes(self) -> dict[str, bytes]:
        return {t: self.output(t).read_bytes() for t in OUTPUTS if self.output(t).exists()}

    @property
    def hash_path(self) -> Path:
        return self.folder / ".luisy.hash"

    def hashes(self) -> dict[str, str]:
        return json.loads(self.hash_path.read_text())

    def edit(self, module: str, old: str, new: str) -> None:
        """Replace ``old`` (which must occur exactly once) in ``<pkg>/<module>.py``."""
        path = self.pkg / f"{module}.py"
        text = path.read_text()
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
        path.write_text(text.replace(old, new))

    # -------------------------------------------------------------------- runs
    def command(self, task: str, *args: str, ask: bool = False) -> list[str]:
        return [str(LUISY), "--module", f"{self.name}.tasks", task,
                "--working-dir", str(self.wd), "--show-complete", *args,
                *([] if ask else ["--no-ask"])]

    def start(self, task: str = "Root", *args: str, ask: bool = False,
              env: dict[str, str] | None = None) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(task, *args, ask=ask), cwd=self.root, env={**self.env, **(env or {})},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self, proc: subprocess.Popen, stdin: str | None = None) -> Run:
        try:
            out, err = proc.communicate(stdin, timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"luisy did not finish:\n{out}\n{err}") from None
        return Run(proc.args[1:], proc.returncode, out, err)

    def luisy(self, task: str = "Root", *args: str, ask: bool = False, stdin: str | None = None,
              env: dict[str, str] | None = None) -> Run:
        """Run ``luisy --module <pkg>.tasks <task> ...`` to the end."""
        return self.finish(self.start(task, *args, ask=ask, env=env), stdin)
