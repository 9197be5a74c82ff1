"""Fault tests' harness: a copy of ``fltpkg`` on disk, built and checked by subprocesses.

``fltpkg/`` beside this file is the pipeline (see its modules); ``driver.py`` runs one build or
prints one plan in a fresh interpreter. :class:`Workspace` copies the package into a tmp dir,
puts that copy first on the ``PYTHONPATH`` of every driver it starts (``PYTHONDONTWRITEBYTECODE``
keeps stale bytecode out: a ``v1`` -> ``v2`` edit keeps the file's size), edits its constants
between runs, and reads what the drivers printed. Driver output goes to files, not pipes, so a
chatty build can never block on a full pipe, and lines such as ``READY`` or ``GO`` are polled.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
TEMPLATE = HERE / "fltpkg"
DRIVER = HERE / "driver.py"
TMP_MARKER = ".luisy-tmp-"

TASKS_ROOT = "fltpkg.tasks:Root"
SINGLE_ROOT = "fltpkg.single:AfterFlaky"
#: every task of ``fltpkg.tasks:Root``'s graph
ALL_TASKS = frozenset({*(f"Leaf(i={i})" for i in range(6)), *(f"Pair(j={j})" for j in range(3)),
                       "Left()", "Right()", "Root()"})


@dataclass
class BuildResult:
    """What one ``driver.py build`` printed and returned."""

    code: int
    out: str
    err: str
    #: the ``SUMMARY`` line's JSON (empty when the driver died before printing it)
    summary: dict

    def names(self, kind: str) -> set[str]:
        return set(self.summary.get(kind, ()))

    def __str__(self) -> str:
        return (f"-> exit code {self.code}\n--- stdout\n{self.out[-3000:]}\n"
                f"--- stderr\n{self.err[-4000:]}")


class Driver:
    """A running ``driver.py`` process (its own session, so a kill takes all of it)."""

    def __init__(self, args: list[str], env: dict[str, str], logs: Path, stdin: bool):
        self.out_path, self.err_path = logs.with_suffix(".out"), logs.with_suffix(".err")
        self._out, self._err = open(self.out_path, "wb"), open(self.err_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, str(DRIVER), *args], env=env, stdout=self._out, stderr=self._err,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, start_new_session=True)

    @property
    def out(self) -> str:
        return self.out_path.read_text(errors="replace")

    @property
    def err(self) -> str:
        return self.err_path.read_text(errors="replace")

    def wait_line(self, prefix: str, timeout: float = 60) -> str:
        """The first stdout line starting with ``prefix`` (polled every 2 ms)."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.out.splitlines():
                if line.startswith(prefix):
                    return line
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"driver never printed {prefix!r} (exit code "
                                     f"{self.proc.returncode}):\n{self.out}\n{self.err[-4000:]}")
            time.sleep(0.002)

    def go(self) -> None:
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL the driver's whole process group, then reap it."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._close()

    def _close(self) -> None:
        for fh in (self._out, self._err, self.proc.stdin):
            if fh is not None and not fh.closed:
                with contextlib.suppress(BrokenPipeError):
                    fh.close()

    def finish(self, timeout: float = 120) -> BuildResult:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"driver did not finish in {timeout}s:\n{self.out}\n"
                                 f"{self.err[-4000:]}") from None
        self._close()
        out = self.out
        lines = [ln for ln in out.splitlines() if ln.startswith("SUMMARY ")]
        summary = json.loads(lines[-1].removeprefix("SUMMARY ")) if lines else {}
        return BuildResult(self.proc.returncode, out, self.err, summary)


class Workspace:
    """``root/src/fltpkg`` (an editable copy of the package) and the working dir ``root/wd``."""

    def __init__(self, root: Path):
        self.root = root
        self.src = root / "src"
        self.pkg = self.src / "fltpkg"
        self.wd = root / "wd"
        self.logs = root / "logs"
        self._count = itertools.count()
        path = [str(self.src), *filter(None, [os.environ.get("PYTHONPATH")])]
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(path),
                    "PYTHONDONTWRITEBYTECODE": "1"}
        for var in ("WORKING_DIR", "LUISY_REQUIREMENTS_PATH"):
            self.env.pop(var, None)

    @classmethod
    def create(cls, root: Path) -> Workspace:
        ws = cls(root)
        shutil.copytree(TEMPLATE, ws.pkg, ignore=shutil.ignore_patterns("__pycache__"))
        ws.wd.mkdir()
        ws.logs.mkdir()
        return ws

    # ------------------------------------------------------------------ source edits
    def set_constant(self, module: str, name: str, value: str) -> None:
        """Set ``NAME = "value"`` in ``fltpkg/<module>.py`` (the line must occur once)."""
        path = self.pkg / f"{module}.py"
        text = path.read_text()
        pattern = re.compile(rf'^{name} = "[^"]*"$', re.M)
        assert len(pattern.findall(text)) == 1, f"{name} = ... not found once in {path}"
        path.write_text(pattern.sub(f'{name} = "{value}"', text))

    # ---------------------------------------------------------------------- drivers
    def start(self, mode: str, root: str, *args: str, stdin: bool = False) -> Driver:
        logs = self.logs / f"{next(self._count):03d}-{mode}"
        return Driver([mode, "--wd", str(self.wd), "--root", root, *args], self.env, logs,
                      stdin)

    def start_build(self, root: str = TASKS_ROOT, *, wait_go: bool = False,
                    barrier: Path | None = None, parties: int = 1,
                    workers: int = 2) -> Driver:
        args = ["--workers", str(workers)]
        if wait_go:
            args.append("--wait-go")
        if barrier is not None:
            args += ["--barrier", str(barrier), "--parties", str(parties)]
        return self.start("build", root, *args, stdin=wait_go)

    def build(self, root: str = TASKS_ROOT, timeout: float = 120) -> BuildResult:
        return self.start_build(root).finish(timeout)

    def check(self, root: str = TASKS_ROOT, timeout: float = 60) -> dict[str, dict]:
        """The plan as a fresh process sees it: task -> {decision, reason, exists, version}."""
        driver = self.start("check", root)
        result = driver.finish(timeout)
        lines = [ln for ln in result.out.splitlines() if ln.startswith("PLAN ")]
        assert result.code == 0 and lines, f"check failed:\n{result}"
        plan = json.loads(lines[-1].removeprefix("PLAN "))
        # the copy is what was checked, not the template beside the driver
        assert Path(plan["module_file"]).resolve().is_relative_to(self.pkg.resolve()), plan
        return {row["task"]: row for row in plan["steps"]}

    # ------------------------------------------------------------------------ files
    def leftovers(self) -> list[str]:
        """Files and folders under the working dir whose names hold the temp marker."""
        found = []
        for folder, dirs, files in os.walk(self.wd):
            found += [os.path.relpath(os.path.join(folder, n), self.wd)
                      for n in dirs + files if TMP_MARKER in n]
        return sorted(found)


def lies(plan: dict[str, dict], version: str) -> list[str]:
    """Tasks the plan calls complete whose output does not carry the code's ``version``."""
    return sorted(f"{task} (output {row['version'] or 'missing'})" for task, row in plan.items()
                  if row["decision"] == "complete" and row["version"] != version)


def complete(plan: dict[str, dict]) -> set[str]:
    return {task for task, row in plan.items() if row["decision"] == "complete"}
