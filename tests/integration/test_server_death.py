"""The Prefect server dies mid-build: the build ends soon with one line naming the server,
outputs and keys stay consistent, and the next build, server back, completes the rest and
marks the killed build's flow run Crashed (it would otherwise stay RUNNING forever).

Everything is real: a server of this test's own (killed with SIGKILL, then started again on
the same port and database), and the build run by the ``luisy`` command in a subprocess.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from luisy.testing.server import PrefectServer

pytestmark = [pytest.mark.prefect, pytest.mark.timeout(300)]

SUPPORT = Path(__file__).parent / "server_death_support"
LUISY = os.path.join(os.path.dirname(sys.executable), "luisy")
TASKS = 80


@pytest.fixture
def home(tmp_path):
    """A Prefect home of the test's own (its database outlives a killed server); the
    environment the server start sets is the session's again afterwards."""
    saved = dict(os.environ)
    (tmp_path / "prefect-home").mkdir()
    yield tmp_path / "prefect-home"
    os.environ.clear()
    os.environ.update(saved)


def _command(server: PrefectServer, working_dir: Path) -> subprocess.Popen:
    env = {**os.environ, **server.env, "PYTHONPATH": str(SUPPORT)}
    return subprocess.Popen(
        [LUISY, "--module", "slowpkg", "Root", "--working-dir", str(working_dir), "--no-ask"],
        cwd=SUPPORT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _outputs(working_dir: Path) -> set[str]:
    folder = working_dir / "sd"
    return {p.name for p in folder.rglob("*.pkl")} if folder.exists() else set()


def _plan(working_dir: Path) -> dict[str, str]:
    """Decision per task, planned in a fresh process (what a next build would decide)."""
    code = ("import sys, luisy, slowpkg\n"
            "luisy.Config().set_param('working_dir', sys.argv[1])\n"
            "for t, s in luisy.plan(slowpkg.Root()).steps.items():\n"
            "    print(f'{t}\\t{s.decision.value}')\n")
    out = subprocess.run([sys.executable, "-c", code, str(working_dir)], cwd=SUPPORT,
                         env={**os.environ, "PYTHONPATH": str(SUPPORT)}, check=True,
                         capture_output=True, text=True).stdout
    return dict(line.split("\t") for line in out.splitlines())


def test_a_killed_server_ends_the_build_soon_and_the_next_build_completes(tmp_path, home):
    working_dir = tmp_path / "wd"
    working_dir.mkdir()
    server = PrefectServer(home=str(home)).start()
    build = _command(server, working_dir)
    deadline = time.monotonic() + 120
    while len(_outputs(working_dir)) < 5:  # the build is under way
        assert build.poll() is None and time.monotonic() < deadline, build.stdout.read()
        time.sleep(0.1)
    os.killpg(server.process.pid, signal.SIGKILL)
    killed = time.monotonic()
    output, _ = build.communicate(timeout=120)
    ended_after = time.monotonic() - killed

    assert ended_after < 30, output
    assert build.returncode == 1, output
    assert "Traceback" not in output, output
    named = [line for line in output.splitlines() if server.api_url in line]
    assert len(named) == 1 and "stopped answering" in named[0], output
    assert output.rstrip().endswith("because the Prefect server stopped answering"), output

    # nothing more started: some outputs are missing; every one there is complete
    made = _outputs(working_dir)
    assert 5 <= len(made) < TASKS
    decisions = _plan(working_dir)
    complete = {t for t, d in decisions.items() if d == "complete"}
    assert {f"Slow(i={i})" for i in range(TASKS)
            if f"Slow_i={i}.pkl" in made} == complete, (made, decisions)
    assert not list(working_dir.rglob("*.tmp*"))  # no temp file left as an output

    # the server back (same port, same database): the next build makes the rest
    again = PrefectServer(port=server.port, home=str(home)).start()
    try:
        second = _command(again, working_dir)
        output, _ = second.communicate(timeout=180)
        assert second.returncode == 0, output
        assert f"{TASKS + 1 - len(made)} completed" in output, output
        assert len(_outputs(working_dir)) == TASKS
        assert set(_plan(working_dir).values()) == {"complete"}
        # the killed build's flow run no longer shows as running
        states = _flow_run_states(again)
        assert sorted(states.values()) == ["COMPLETED", "CRASHED"], states
        assert not (working_dir / ".luisy-runs").exists()
    finally:
        again.stop()


def _flow_run_states(server: PrefectServer) -> dict[str, str]:
    import json
    import urllib.request

    request = urllib.request.Request(f"{server.api_url}/flow_runs/filter", data=b"{}",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return {run["id"]: run["state_type"] for run in json.load(resp)}
