"""What docs/prefect.md's code blocks need around them (see test_code_blocks.py).

The page is read in a clone of the repository: its blocks deploy ``prefect.yaml`` (entrypoints
``flows/*/flow.py``, relative to the directory ``prefect deploy`` runs in), so the reader's dir
gets a copy of both, and ``flows`` imports from that copy (as from a clone's root; the worker's
flow runs, which run in that dir, read the same files, so their data versions agree).

The "From nothing to a finished run" block starts a server of its own with ``prefect server
start --background``: here on a free port (``PREFECT_SERVER_API_PORT``, as 4200 may be taken)
with a Prefect home of its own (its database and pid file). ``PREFECT_API_URL`` points at it
from the start, so the page's later blocks (``prefect deployment run LoadCheck/server-check``,
the builds) talk to that server, as a reader's shell would. It is stopped at the end, as
``prefect server stop`` would.

Readers paste the blocks into a terminal, where bash has job control: the page's bash blocks
get it too (``set -m``, through ``BASH_ENV``). Without it a command started with ``&`` ignores
SIGINT, and the worker the block starts that way would outlive its ``kill %1`` (a Prefect worker
stops on SIGTERM by sending itself a SIGINT), holding the block's output open.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from luisy.testing.server import SERVER_ENV, free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def prefect_page(reader_dir, monkeypatch, tmp_path):
    shutil.copytree(ROOT / "flows", reader_dir / "flows",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "prefect.yaml", reader_dir)
    # the copy is the clone the reader is in: ``from flows...`` finds it, as from a clone's root
    monkeypatch.setenv("PYTHONPATH", str(reader_dir))
    home = tmp_path / "prefect-home"
    home.mkdir()
    job_control = tmp_path / "job-control.sh"
    job_control.write_text("set -m\n")
    monkeypatch.setenv("BASH_ENV", str(job_control))
    port = free_port()
    monkeypatch.setenv("PREFECT_HOME", str(home))
    monkeypatch.setenv("PREFECT_SERVER_API_PORT", str(port))
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{port}/api")
    monkeypatch.setenv("PREFECT_WORKER_QUERY_SECONDS", "1")  # picks up the run in 1 s, not 10
    monkeypatch.delenv("LUISY_REPO", raising=False)  # runs enter the checkout deployed from
    for name, value in SERVER_ENV.items():  # the server settings the page recommends
        monkeypatch.setenv(name, value)
    yield
    _stop_background_server(home)


def _stop_background_server(home: Path, timeout: float = 20) -> None:
    """``prefect server stop`` (SIGTERM to the pid in the home's pid file), then wait for the
    server to end, killing it if it does not."""
    pid_file = home / "server.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    subprocess.run([Path(sys.executable).with_name("prefect"), "server", "stop"],
                   env={**os.environ, "PREFECT_HOME": str(home)}, capture_output=True,
                   timeout=60)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
