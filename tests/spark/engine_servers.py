"""Spark engines as a user runs them, for ``test_engines.py``: servers and the user's script.

* :class:`EngineServer`: a Spark Connect server in its own process (pysail's ``sail spark
  server``, or Apache Spark's JVM ``SparkConnectServer``), on a free port, its log kept;
* :func:`user_main`: what runs in the subprocess of one engine: the session made the way a
  user makes it, then ``luisy.build(..., cloud_mode=True)`` of the pipelines, the outcome
  printed as one ``RESULT {json}`` line;
* :func:`engine_log_lines` and :func:`pyspark_leaks`: checks made in the test process.
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import traceback
from typing import Any

from sparktest_tasks import Doubled, project

import luisy
from luisy.spark import describe_session, get_spark
from luisy.tasks.base import SparkTask
from luisy.testing.server import free_port

VENV_BIN = os.path.dirname(sys.executable)
RESULT_PREFIX = "RESULT "
#: a warning or error line of a Spark (log4j) log
LOG_PROBLEM = re.compile(r"\d\d/\d\d/\d\d \d\d:\d\d:\d\d (WARN|ERROR) ")

#: the engines of test_engines.py: what the subprocess makes, and whether it has Delta
EMBEDDED, SAIL, JVM, CLASSIC = "embedded", "sail-server", "jvm-connect", "classic"


# -------------------------------------------------------------------------- engine servers
def pyspark_home() -> str:
    """The folder of the installed pyspark: Apache Spark's jars and bin/spark-submit."""
    from importlib.util import find_spec

    spec = find_spec("pyspark")
    assert spec is not None and spec.origin, "pyspark is not installed"
    return os.path.dirname(spec.origin)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


class EngineServer:
    """A server process in its own session (its children stop with it), its log in a file."""

    def __init__(self, name: str, argv: list[str], port: int, workdir: str,
                 env: dict[str, str] | None = None):
        self.name = name
        self.argv = argv
        self.port = port
        self.url = f"sc://127.0.0.1:{port}"
        self.workdir = workdir
        self.env = {**os.environ, **(env or {})}
        # a Connect mode left in the environment by a test would change what the JVM runs
        self.env.pop("SPARK_CONNECT_MODE_ENABLED", None)
        self.env.pop("SPARK_REMOTE", None)
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float) -> EngineServer:
        os.makedirs(self.workdir, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=self.workdir, env=self.env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        atexit.register(self.stop)  # also when the test session ends without teardown
        self.wait_for_port(timeout)
        return self

    def wait_for_port(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}) before "
                                   f"listening on {self.port}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not listen on {self.port} within "
                                   f"{timeout:.0f}s:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, lines: int = 40, quiet: bool = False) -> str:
        """The last lines of the log; ``quiet``: only Spark's WARN and ERROR lines."""
        try:
            with open(self.log_path, errors="replace") as fh:
                kept = fh.readlines()
        except OSError:
            return "(no log)"
        if quiet:
            kept = [line for line in kept if LOG_PROBLEM.match(line)]
        return "".join(kept[-lines:])

    def stop(self, timeout: float = 30) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout)


def sail_server(workdir: str) -> EngineServer:
    """``sail spark server`` (pysail's standalone Spark Connect server), not started."""
    port = free_port()
    return EngineServer(
        "sail-server",
        [os.path.join(VENV_BIN, "sail"), "spark", "server", "--ip", "127.0.0.1",
         "--port", str(port)],
        port, workdir, env={"RUST_LOG": "error"})


def jvm_connect_server(workdir: str) -> EngineServer:
    """Apache Spark's own Spark Connect server (a JVM on local[2]), not started; no Delta."""
    home = pyspark_home()
    port = free_port()
    return EngineServer(
        "jvm-connect-server",
        [os.path.join(home, "bin", "spark-submit"),
         "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
         "--master", "local[2]",
         "--conf", f"spark.connect.grpc.binding.port={port}",
         "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
         "--conf", "spark.ui.enabled=false",  # no port 4040 taken from other processes
         "--conf", "spark.sql.shuffle.partitions=2"],
        port, workdir, env={"SPARK_HOME": home, "SPARK_LOCAL_IP": "127.0.0.1"})


PROBE = """
import sys, time
from pyspark.sql import SparkSession
deadline = time.monotonic() + {timeout}
while True:
    try:
        spark = SparkSession.builder.remote({url!r}).getOrCreate()
        assert spark.sql("SELECT 1 AS one").collect()[0].one == 1
        print("ready")
        break
    except Exception as exc:
        if time.monotonic() > deadline:
            sys.exit(f"no answer to SELECT 1: {{exc}}")
        try:
            spark.stop()
        except Exception:
            pass
        time.sleep(1)
"""


def probe(server: EngineServer, timeout: float = 120) -> None:
    """Wait until a Spark Connect client gets an answer to ``SELECT 1`` (in a subprocess:
    the test process must not become a Connect client, the classic tests share it)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
    proc = subprocess.run([sys.executable, "-c", PROBE.format(url=server.url, timeout=timeout)],
                          env=env, capture_output=True, text=True, timeout=timeout + 60)
    if proc.returncode != 0 or "ready" not in proc.stdout:
        raise RuntimeError(f"{server.name} at {server.url} did not answer:\n{proc.stdout}\n"
                           f"{proc.stderr[-3000:]}\nserver log:\n{server.log_tail()}")


# ------------------------------------------------------------------- the user's subprocess
@project
@luisy.requires(Doubled)
@luisy.final
@luisy.pickle_output
class DoubledPickle(SparkTask):
    """A Spark frame into a pickle (as pandas) on every engine, TaskC's pickle needing Delta:
    what toPandas() left in attrs (PlanMetrics of a JVM server) would end up in it."""

    def run(self):
        self.write(self.read_input())


def user_session(engine: str, url: str | None) -> Any:
    """The session as a user makes it; None for the embedded engine (nothing is set up)."""
    if engine == EMBEDDED:
        return None
    from pyspark.sql import SparkSession

    if engine == CLASSIC:
        return (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
                .getOrCreate())
    return SparkSession.builder.remote(url).getOrCreate()


def _summary(summary: Any) -> dict[str, Any]:
    names = lambda tasks: sorted(map(str, tasks))  # noqa: E731
    return {
        "ok": summary.ok,
        "completed": names(summary.completed),
        "already_done": names(summary.already_done),
        "failed": names(summary.failed),
        "upstream_failed": names(summary.upstream_failed),
        "missing_external": names(summary.missing_external),
        "errors": {str(task): error for task, error in summary.errors.items()},
        "flow_error": summary.flow_error,
        "flow_run_id": None if summary.flow_run_id is None else str(summary.flow_run_id),
        "text": str(summary),
    }


def _attempt(out: dict[str, Any], key: str, action: Any) -> Any:
    """``action()``; when it raises, its one-line message (and the traceback) go into out."""
    try:
        return action()
    except Exception as exc:  # reported to the test process
        out[key] = {"raised": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc()}
        return None


def user_main(engine: str, url: str | None = None, use_config: bool = True,
              delta_storage: str | None = None, seed: bool = True,
              cwd: str | None = None) -> None:
    """One engine's run, in its own process: session, settings, builds; prints RESULT.

    ``cwd``: where the user works (Spark puts spark-warehouse/ there), not the repository.
    """
    if cwd is not None:
        os.chdir(cwd)
    if engine == CLASSIC:  # a Connect mode inherited from the test process is not the user's
        os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
        os.environ.pop("SPARK_REMOTE", None)
    from sparktest_tasks import BigOnes, TaskC, seed_raw

    from luisy import Config

    out: dict[str, Any] = {"engine": engine}
    spark = _attempt(out, "session", lambda: user_session(engine, url))
    if spark is not None:
        import pyspark

        out["pyspark"] = pyspark.__version__
        if use_config:
            Config().set_param("spark", spark)
    if delta_storage:
        Config().set_param("delta_storage", delta_storage)
    if "session" not in out:
        out["describe"] = _attempt(out, "describe_error",
                                   lambda: describe_session(get_spark()))
        if seed:
            _attempt(out, "seed", seed_raw)
        for name, task in (("tutorial", TaskC()), ("files", BigOnes()),
                           ("pickle", DoubledPickle())):
            summary = _attempt(out, name, lambda t=task: luisy.build(t, cloud_mode=True))
            if summary is not None:
                out[name] = _summary(summary)
    print(RESULT_PREFIX + json.dumps(out), flush=True)


def parse_result(stdout: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    assert lines, f"the engine's subprocess printed no result:\n{stdout}"
    return json.loads(lines[-1][len(RESULT_PREFIX):])


# ------------------------------------------------------------------------- checks, here
def engine_log_lines(flow_run_id: str, expected: int, timeout: float = 30.0) -> list[str]:
    """The 'engine: ...' lines the task runs of a flow run logged, as the UI shows them
    (logs reach the server shortly after the run: wait for ``expected`` of them)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            lines = [entry.message for entry in logs if entry.message.startswith("engine: ")]
            if len(lines) >= expected or time.monotonic() > deadline:
                return lines
            time.sleep(0.3)


def pyspark_leaks(root: str) -> dict[str, str]:
    """Pickles and parquet files under ``root`` (Delta folders aside) that hold pyspark
    objects or non-empty attrs, with what was found."""
    import pickle

    import pandas as pd

    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".luisy-delta"]
        for name in files:
            path = os.path.join(folder, name)
            if not name.endswith((".pkl", ".parquet")):
                continue
            with open(path, "rb") as fh:
                raw = fh.read()
            for marker in (b"pyspark", b"PlanMetrics", b"py4j"):
                if marker in raw:
                    found[path] = f"contains {marker.decode()}"
            if path in found:
                continue
            if name.endswith(".pkl"):
                with open(path, "rb") as fh:
                    obj = pickle.load(fh)
            else:
                obj = pd.read_parquet(path)
            attrs = getattr(obj, "attrs", {})
            if attrs:
                found[path] = f"attrs {attrs!r}"
    return found
