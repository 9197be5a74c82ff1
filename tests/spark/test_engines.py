"""The tutorial pipeline and a file-output pipeline on every Spark engine there is here.

Each engine runs in its own process (classic and Spark Connect sessions do not mix in one),
with the session made the way a user makes it, then ``luisy.build(task, cloud_mode=True)`` on
the session's Prefect server:

* ``embedded``: nothing configured, luisy's embedded pysail;
* ``sail-server``: ``sail spark server`` in its own process, the user's
  ``SparkSession.builder.remote(url)``, Delta tables as folders (its catalog is in memory);
* ``jvm-connect``: Apache Spark's own Spark Connect server (a JVM), without Delta Lake;
* ``classic``: the user's ``SparkSession.builder.master("local[1]")``, without Delta jars.

``/config`` runs set the session with ``Config().set_param('spark', session)``, ``/active``
runs leave it to luisy to find the active session. The pipelines:

* the luisy 1.x tutorial page's TaskA -> TaskB -> TaskC (Delta tables, then a pickle): it
  completes where there is Delta; elsewhere it fails with one line that names the table and
  says how this engine gets Delta;
* Numbers -> Doubled (a parquet folder) -> BigOnes (CSV), and Doubled -> DoubledPickle (a
  Spark frame pickled): complete everywhere, and no file holds pyspark objects.
"""
from __future__ import annotations

import glob
import json
import os
import pickle
import re
from dataclasses import dataclass
from importlib.metadata import version

import pandas as pd
import pytest
from conftest_engines import jvm_connect_server, sail_server  # noqa: F401 (fixtures)
from engine_servers import (
    CLASSIC,
    EMBEDDED,
    JVM,
    SAIL,
    DoubledPickle,
    engine_log_lines,
    parse_result,
    pyspark_leaks,
)
from sparktest_tasks import BigOnes, Doubled, Numbers, TaskA, TaskB, TaskC
from sparktest_util import run_python

from luisy.config import for_build, use

pytestmark = [pytest.mark.spark, pytest.mark.prefect,
              pytest.mark.usefixtures("prefect_server")]

EXPECTED = pd.DataFrame({"a": [1, 2, 3], "b": [10, 20, 30], "f": [2, 4, 6]})
TUTORIAL = sorted(map(str, (TaskA(), TaskB(), TaskC())))
#: a Spark error's stack trace, which must not reach a task's error line
JVM_STACK = "at org.apache"
TABLE = re.compile(r"`?my_catalog`?\.`?my_schema`?\.`?(raw|interim|final)\b")


@dataclass(frozen=True)
class Run:
    engine: str
    use_config: bool = True
    #: the key of the working dir: runs that share one see each other's outputs
    wd: str = ""
    #: the run whose outputs this one finds (it runs first, in the same working dir)
    after: str | None = None


RUNS = {
    "embedded": Run(EMBEDDED, use_config=False, wd="embedded"),
    "embedded/again": Run(EMBEDDED, use_config=False, wd="embedded", after="embedded"),
    "sail-server/config": Run(SAIL, wd="sail"),
    "sail-server/active": Run(SAIL, use_config=False, wd="sail", after="sail-server/config"),
    "jvm-connect/config": Run(JVM, wd="jvm-config"),
    "jvm-connect/active": Run(JVM, use_config=False, wd="jvm-active"),
    "classic/config": Run(CLASSIC, wd="classic-config"),
    "classic/active": Run(CLASSIC, use_config=False, wd="classic-active"),
}
DELTA_FIRST = ["embedded", "sail-server/config"]
DELTA_AGAIN = ["embedded/again", "sail-server/active"]
NO_DELTA = ["jvm-connect/config", "jvm-connect/active", "classic/config", "classic/active"]
FIRST_RUNS = DELTA_FIRST + NO_DELTA


@dataclass
class Outcome:
    """What one engine's subprocess reported, and where its outputs are."""

    key: str
    run: Run
    result: dict
    wd: str
    url: str | None
    server_log: str = ""

    def build(self, name: str) -> dict:
        """The summary of build ``name`` ('tutorial', 'files', 'pickle'), or what it raised."""
        return self.result[name]

    def context(self) -> str:
        """For assertion messages: the whole result, and the server's log when there is one."""
        shown = {k: {n: v for n, v in r.items() if n != "traceback"} if isinstance(r, dict)
                 else r for k, r in self.result.items()}
        text = f"{self.key}: {json.dumps(shown, indent=1)}"
        return text + (f"\n--- server log (warnings):\n{self.server_log}" if self.server_log
                       else "")

    def path(self, task) -> str:
        with use(for_build({"working_dir": self.wd})):
            return task.output().path


@pytest.fixture(scope="module")
def outcome(request, tmp_path_factory):
    """``outcome(key)``: the outcome of run ``key`` (run on first use, then kept)."""
    done: dict[str, Outcome] = {}
    wds: dict[str, str] = {}

    def get(key: str) -> Outcome:
        if key in done:
            return done[key]
        run = RUNS[key]
        if run.after is not None:
            previous = get(run.after)
            # the new process has to run BigOnes again: its CSV is gone
            os.remove(previous.path(BigOnes()))
        if run.wd not in wds:
            wds[run.wd] = str(tmp_path_factory.mktemp(f"wd-{run.wd}"))
        server = None
        if run.engine == SAIL:
            server = request.getfixturevalue("sail_server")
        elif run.engine == JVM:
            server = request.getfixturevalue("jvm_connect_server")
        url = server.url if server is not None else None
        cwd = str(tmp_path_factory.mktemp(f"cwd-{run.wd}"))
        code = ("import engine_servers\n"
                f"engine_servers.user_main({run.engine!r}, url={url!r}, "
                f"use_config={run.use_config!r}, "
                f"delta_storage={'path' if run.engine == SAIL else None!r}, "
                f"seed={run.after is None!r}, cwd={cwd!r})\n")
        stdout = run_python(code, timeout=420, WORKING_DIR=wds[run.wd],
                            SPARK_LOCAL_IP="127.0.0.1")
        done[key] = Outcome(key, run, parse_result(stdout), wds[run.wd], url,
                            server.log_tail(quiet=True) if server is not None else "")
        return done[key]

    return get


def expected_engine(out: Outcome) -> str:
    """The pattern of the run's ``engine: ...`` lines (and of describe_session)."""
    if out.run.engine == EMBEDDED:
        return r"embedded pysail at sc://127\.0\.0\.1:\d+"
    if out.run.engine == CLASSIC:
        return re.escape(f"classic Spark {version('pyspark')} at local[1]")
    return re.escape(f"spark connect at {out.url}")


def built(out: Outcome, name: str) -> dict:
    summary = out.build(name)
    assert "raised" not in summary, f"build raised:\n{summary.get('traceback')}\n{out.context()}"
    return summary


def failure_line(out: Outcome) -> str:
    """How the tutorial build told the user that TaskA cannot run: TaskA's error, or what the
    build raised while planning (checking whether TaskA's input table exists)."""
    summary = out.build("tutorial")
    if "raised" in summary:
        return summary["raised"]
    assert not summary["ok"], out.context()
    # checking its output (while planning) or running, TaskA fails; TaskB may fail as well
    assert str(TaskA()) in summary["failed"], out.context()
    assert str(TaskC()) not in summary["completed"], out.context()
    return summary["errors"][str(TaskA())]


def assert_delta_missing_line(out: Outcome, line: str) -> None:
    """One line that says Delta is missing, names the table and this engine's fix."""
    context = f"the line: {line!r}\n{out.context()}"
    assert "\n" not in line.strip(), context
    assert JVM_STACK not in line, context
    assert "Delta" in line, context
    assert TABLE.search(line), context
    if out.run.engine == CLASSIC:
        assert "delta-spark" in line and "configure_spark_with_delta_pip" in line, context
    else:  # the client cannot add Delta to a Connect server: its start must
        assert "server" in line, context
        assert re.search(r"Delta package|--packages|io\.delta", line), context
        assert "extension" in line, context
        assert "configure_spark_with_delta_pip" not in line, context


# ------------------------------------------------------------------ the tutorial pipeline
@pytest.mark.parametrize("key", DELTA_FIRST)
def test_tutorial_pipeline_completes_where_there_is_delta(outcome, key):
    out = outcome(key)
    assert "seed" not in out.result, out.context()
    summary = built(out, "tutorial")
    assert summary["ok"], out.context()
    assert summary["completed"] == TUTORIAL, out.context()
    with open(out.path(TaskC()), "rb") as fh:
        result = pickle.load(fh)
    assert type(result) is pd.DataFrame  # plain pandas, not a Spark frame
    assert result.attrs == {}
    assert result.sort_values("a").reset_index(drop=True).equals(EXPECTED)


@pytest.mark.parametrize("key", DELTA_AGAIN)
def test_a_new_process_finds_the_tutorial_pipeline_done(outcome, key):
    out = outcome(key)
    summary = built(out, "tutorial")
    assert summary["ok"], out.context()
    assert summary["already_done"] == TUTORIAL, out.context()
    assert summary["completed"] == [], out.context()


@pytest.mark.parametrize("key", NO_DELTA)
def test_seeding_the_tutorial_table_without_delta_names_the_fix(outcome, key):
    out = outcome(key)
    assert "seed" in out.result, f"seeding a Delta table worked without Delta?\n{out.context()}"
    line = out.result["seed"]["raised"]
    assert_delta_missing_line(out, line)
    assert "my_catalog.my_schema.raw" in line


@pytest.mark.parametrize("key", NO_DELTA)
def test_tutorial_build_without_delta_fails_with_one_line(outcome, key):
    out = outcome(key)
    assert_delta_missing_line(out, failure_line(out))
    assert not os.path.exists(out.path(TaskC()))


# ---------------------------------------------------------------- the file-output pipeline
@pytest.mark.parametrize("key", FIRST_RUNS)
def test_file_pipeline_completes_on_every_engine(outcome, key):
    out = outcome(key)
    summary = built(out, "files")
    assert summary["ok"], out.context()
    assert summary["completed"] == sorted(map(str, (Numbers(), Doubled(), BigOnes()))), \
        out.context()

    folder = out.path(Doubled())
    parts = [p for p in glob.glob(os.path.join(folder, "**", "*.parquet"), recursive=True)
             if not os.path.basename(p).startswith(("_", "."))]
    assert parts, f"no parquet parts in {folder}: {os.listdir(folder)}"
    doubled = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    assert sorted(doubled["y"]) == [0, 2, 4, 6]
    big = pd.read_csv(out.path(BigOnes()))
    assert big.to_dict("list") == {"x": [2, 3], "y": [4, 6]}


@pytest.mark.parametrize("key", DELTA_AGAIN)
def test_a_new_process_reruns_only_the_removed_file_output(outcome, key):
    out = outcome(key)
    summary = built(out, "files")
    assert summary["ok"], out.context()
    assert summary["completed"] == [str(BigOnes())], out.context()
    assert summary["already_done"] == sorted(map(str, (Numbers(), Doubled()))), out.context()
    assert pd.read_csv(out.path(BigOnes())).to_dict("list") == {"x": [2, 3], "y": [4, 6]}


@pytest.mark.parametrize("key", FIRST_RUNS)
def test_pickles_and_parquet_files_hold_no_pyspark_objects(outcome, key):
    out = outcome(key)
    summary = built(out, "pickle")
    assert summary["ok"], out.context()
    assert summary["completed"] == [str(DoubledPickle())], out.context()
    with open(out.path(DoubledPickle()), "rb") as fh:
        frame = pickle.load(fh)
    assert type(frame) is pd.DataFrame
    assert frame.attrs == {}  # a JVM server's PlanMetrics stay out
    assert sorted(frame["y"]) == [0, 2, 4, 6]
    assert pyspark_leaks(out.wd) == {}


# --------------------------------------------------------------------------- the engine
@pytest.mark.parametrize("key", FIRST_RUNS + DELTA_AGAIN)
def test_each_task_run_logs_the_engine_it_ran_on(outcome, key):
    out = outcome(key)
    pattern = expected_engine(out)
    assert out.result.get("describe_error") is None, out.context()
    assert re.fullmatch(pattern, out.result["describe"]), out.context()
    # SparkTasks that ran: TaskA..C where there is Delta, Doubled and BigOnes (Numbers is a
    # plain task), DoubledPickle; in a second run only what ran again
    expected = {"tutorial": 3, "files": 2, "pickle": 1}
    if key in DELTA_AGAIN:
        expected = {"files": 1}
    elif key in NO_DELTA:
        del expected["tutorial"]
    for name, count in expected.items():
        summary = built(out, name)
        assert summary["flow_run_id"], f"{name}: no flow run\n{out.context()}"
        lines = engine_log_lines(summary["flow_run_id"], count)
        assert len(lines) == count, f"{name}: {lines}\n{out.context()}"
        for line in lines:
            assert re.fullmatch(f"engine: {pattern}", line), f"{name}: {line!r}"
