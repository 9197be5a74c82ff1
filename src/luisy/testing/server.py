"""A throwaway ``prefect server start`` on 127.0.0.1, for test sessions and benchmarks.

A real server (not a mock) in its own process and its own ``PREFECT_HOME``: flows run in the
test process and in subprocesses (the CLI) report to it alike. Start it once per session:
it costs ~8 s here.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from types import TracebackType
from typing import Any

from luisy.errors import PrefectServerError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_session(process: subprocess.Popen | None, log: Any = None) -> None:
    """Stop a server started in its own session (SIGTERM, then SIGKILL after 20 s) and close
    its log file."""
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if log is not None:
        log.close()


#: settings every process that talks to a test server should share
QUIET_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_UI_ENABLED": "false",
    "PREFECT_CLI_PROMPT": "false",
}


#: server settings luisy recommends (docs/prefect.md, "Scale: server settings"). By default the
#: task-run recorder writes each task-run event in its own transaction (batch size 1): a few
#: thousand short task runs then reach the database minutes after the flow run ended. Batched,
#: they are recorded while it runs.
SERVER_ENV = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
}


class PrefectServer:
    """``with PrefectServer() as server: ...`` sets ``PREFECT_API_URL`` for this process."""

    def __init__(self, port: int | None = None, home: str | None = None,
                 extra_env: dict[str, str] | None = None, startup_timeout: float = 90,
                 ui: bool = False):
        """``ui=True`` serves Prefect's default UI too (to look at pages in a browser)."""
        self.port = port or free_port()
        self.ui = ui
        self._own_home = home is None
        self.home = home or tempfile.mkdtemp(prefix="luisy-prefect-home-")
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.extra_env = extra_env or {}
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.log_path = os.path.join(self.home, "server.log")

    @property
    def env(self) -> dict[str, str]:
        """Environment for clients (this process and subprocesses)."""
        return {**QUIET_ENV, "PREFECT_HOME": self.home, "PREFECT_API_URL": self.api_url}

    def start(self) -> PrefectServer:
        env = {**os.environ, **self.env, **SERVER_ENV, **self.extra_env}
        env.pop("PREFECT_API_URL")
        if self.ui:  # the UI is told where its API is: it would look on port 4200
            env.update(PREFECT_UI_ENABLED="true", PREFECT_UI_API_URL=self.api_url)
        prefect = os.path.join(os.path.dirname(sys.executable), "prefect")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (open while the server lives)
        self.process = subprocess.Popen(
            [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(self.port),
             "--ui" if self.ui else "--no-ui"],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrefectServerError(f"prefect server exited early; see {self.log_path}:\n"
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        os.environ.update(self.env)
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise PrefectServerError(f"prefect server did not answer within {self.startup_timeout}s")

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) of the server's live processes (its own session)."""
        if self.process is None:
            return 0.0
        total = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == self.process.pid:  # session id
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def completed_task_runs(self) -> int | None:
        """How many task runs the server has recorded as completed (None: it is busy)."""
        body = json.dumps({"task_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}).encode()
        request = urllib.request.Request(f"{self.api_url}/task_runs/count", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return int(json.load(resp))
        except OSError:
            return None

    def settle(self, completed_task_runs: int = 0, timeout: float = 900) -> bool:
        """Wait until the server recorded that many completed task runs and is idle again.

        The client ships task-run states as events in the background and the server records
        them after the flow returned; a benchmark's next run would otherwise pay for the last
        one's backlog (slow API answers, 503s while SQLite is locked). False on timeout.
        """
        if "prefect" in sys.modules:
            from prefect._internal.concurrency.services import QueueService

            QueueService.drain_all(timeout=timeout, at_exit=False)  # more runs follow
        deadline = time.monotonic() + timeout
        while (self.completed_task_runs() or 0) < completed_task_runs:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
        while time.monotonic() < deadline:
            mark = self.cpu_seconds()
            time.sleep(1.0)
            if self.cpu_seconds() - mark < 0.03:  # an idle server uses ~0.02 s a second
                return True
        return False

    def problems(self) -> list[str]:
        """The server log's warnings and errors so far (events it dropped say so there), and
        the messages its services gave up on (Prefect's dead-letter folder)."""
        try:
            with open(self.log_path, errors="replace") as fh:
                found = [line.rstrip() for line in fh if "| WARNING |" in line
                         or "| ERROR |" in line or "Traceback" in line]
        except OSError:
            found = []
        dlq = os.path.join(self.home, "dlq")
        dead = len(os.listdir(dlq)) if os.path.isdir(dlq) else 0
        return [*found, *([f"{dead} messages in {dlq}"] if dead else [])]

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, errors="replace") as fh:
                return "".join(fh.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if "prefect" in sys.modules and self.process is not None:
            # send queued run logs and events while the server still listens
            from prefect._internal.concurrency.services import QueueService

            QueueService.drain_all(timeout=10)
        stop_session(self.process, getattr(self, "_log", None))
        if self._own_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> PrefectServer:
        return self.start()

    def __exit__(self, exc_type: type | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
