"""Builds run as real Prefect flows on the session's Prefect server."""
import io
import logging
import os
import pickle

import pytest
from itasks import (
    AfterBroken,
    Broken,
    CycleA,
    Delivered,
    Diamond,
    FanIn,
    HalfWriter,
    Leaf,
    Left,
    Mixed,
    Named,
    Printer,
    Right,
    Upstream,
    UsesDelivery,
)
from prefect_api import (
    flow_run,
    flow_run_count,
    flow_run_logs,
    task_run_logs,
    task_runs,
    upstream_ids,
)

import luisy
from luisy import cli
from luisy.errors import CycleError, TaskNotCompleteError

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_flow_run_named_after_root_with_one_named_task_run_per_task(working_dir):
    root = Diamond()
    summary = luisy.build(root, workers=2)

    assert summary.ok
    assert summary.completed == {Upstream(), Left(), Right(), Diamond()}
    run = flow_run(summary.flow_run_id)
    assert run.name == "Diamond()"
    assert run.state.is_completed()

    runs = {r.name: r for r in task_runs(summary.flow_run_id, expected=4)}
    assert set(runs) == {"Upstream()", "Left()", "Right()", "Diamond()"}
    assert all(r.state.is_completed() for r in runs.values())
    assert upstream_ids(runs["Upstream()"]) == set()
    assert upstream_ids(runs["Left()"]) == {runs["Upstream()"].id}
    assert upstream_ids(runs["Right()"]) == {runs["Upstream()"].id}
    assert upstream_ids(runs["Diamond()"]) == {runs["Left()"].id, runs["Right()"].id}
    assert root.read() == {"Left": 2, "Right": 3}


def test_second_build_runs_nothing_and_creates_no_flow_run(working_dir):
    luisy.build(FanIn(n=3))
    before = flow_run_count()
    summary = luisy.build(FanIn(n=3))
    assert summary.completed == set()
    assert summary.already_done == {FanIn(n=3), *(Leaf(i=i) for i in range(3))}
    assert flow_run_count() == before


def test_failure_marks_downstream_and_lets_other_branches_finish(working_dir):
    summary = luisy.build(Mixed(), workers=2)

    assert not summary.ok
    assert summary.failed == {Broken()}
    assert summary.upstream_failed == {AfterBroken(), Mixed()}
    assert Leaf(i=100) in summary.completed
    assert "boom in Broken" in summary.errors[Broken()]
    assert flow_run(summary.flow_run_id).state.is_failed()

    runs = {r.name: r for r in task_runs(summary.flow_run_id, expected=2)}
    assert set(runs) == {"Broken()", "Leaf(i=100, sleep=0.0)"}
    assert runs["Broken()"].state.is_failed()
    logs = "\n".join(task_run_logs(runs["Broken()"].id, contains="boom in Broken"))
    assert "Traceback" in logs and "ValueError: boom in Broken" in logs
    assert "Broken() ran because: no output" in logs
    # a task run that completes says why it ran in its final state, not in a log line
    assert runs["Leaf(i=100, sleep=0.0)"].state.message == "ran because: no output"
    assert not AfterBroken().output().exists()


def test_at_most_n_tasks_run_at_once(working_dir):
    summary = luisy.build(FanIn(n=6, sleep=0.3), workers=2)
    assert summary.ok
    spans = [Leaf(i=i, sleep=0.3).output().read() for i in range(6)]
    events = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak == 2


def test_no_false_deadlock_warning_when_workers_are_all_busy(working_dir, capfd):
    # the scheduler submits the next task from a worker thread: Prefect must not tell users
    # on their console that this "will deadlock" (no luisy task run waits on another)
    assert luisy.build(FanIn(n=8, sleep=0.05), workers=2).ok
    console = capfd.readouterr()
    assert "deadlock" not in console.out + console.err


def test_one_worker_builds_a_diamond_without_deadlock(working_dir):
    # With workers=1 a task parked on an unfinished upstream would block the only thread.
    summary = luisy.build(Diamond(), workers=1)
    assert summary.ok and len(summary.completed) == 4


def test_braces_in_parameter_values_do_not_break_run_names(working_dir):
    task = Named(label="{month} and {{x}}")
    summary = luisy.build(task)
    assert summary.ok
    (run,) = task_runs(summary.flow_run_id, expected=1)
    assert run.name == "Named(label={month} and {{x}})"


def test_self_logger_writes_into_the_task_run_logs(working_dir):
    summary = luisy.build(Leaf(i=7))
    (run,) = task_runs(summary.flow_run_id, expected=1)
    assert any("leaf 7 says hello" in line
               for line in task_run_logs(run.id, contains="leaf 7 says hello"))


def test_print_reaches_the_console_and_the_task_run_logs(working_dir, capfd):
    summary = luisy.build(Printer(), workers=2)
    console = capfd.readouterr().out
    assert console.count("Printer says hello\n") == 1 and "on one line" in console
    (run,) = task_runs(summary.flow_run_id, expected=1)
    lines = task_run_logs(run.id, contains="on one line")
    assert "Printer says hello" in lines and "half a line, on one line" in lines


def test_missing_external_stops_before_anything_runs(working_dir):
    before = flow_run_count()
    summary = luisy.build(UsesDelivery())
    assert summary.missing_external == {Delivered()}
    assert summary.completed == set()
    assert flow_run_count() == before
    message = summary.errors[Delivered()]
    assert Delivered().output().path in message
    assert "needed by UsesDelivery(name=delivery)" in message


def test_missing_external_from_python_is_one_clear_log_line(working_dir, caplog):
    # a notebook user calling luisy.build sees it without looking at the summary (an ERROR
    # record reaches stderr even where logging is not configured)
    with caplog.at_level(logging.ERROR, logger="luisy"):
        luisy.build(UsesDelivery())
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1, lines
    assert Delivered().output().path in lines[0]
    assert "needed by UsesDelivery(name=delivery)" in lines[0]


def test_failed_write_leaves_no_target_and_keeps_an_older_one(working_dir):
    task = HalfWriter()
    summary = luisy.build(task)
    assert summary.failed == {task}
    assert not os.path.exists(task.output().path)
    assert os.listdir(os.path.dirname(task.output().path)) == []

    with open(task.output().path, "wb") as fh:
        pickle.dump("old", fh)
    luisy.build(task)
    with open(task.output().path, "rb") as fh:
        assert pickle.load(fh) == "old"
    with pytest.raises(TaskNotCompleteError, match="HalfWriter"):
        task.read()


def test_cycle_is_an_error_naming_the_cycle(working_dir):
    with pytest.raises(CycleError, match=r"CycleA\(\) -> CycleB\(\) -> CycleA\(\)"):
        luisy.build(CycleA())


def test_cli_prints_plan_and_progress_and_fails_on_failure(working_dir, monkeypatch):
    monkeypatch.chdir(os.path.dirname(__file__))
    out = io.StringIO()
    code = cli.main(["--module", "itasks", "Mixed", "--working-dir", str(working_dir),
                     "--no-ask", "--workers", "2"], out=out)
    text = out.getvalue()
    assert code == 1
    assert "Broken()" in text and "no output" in text           # the plan
    assert "failed" in text and "upstream failed" in text        # progress lines
    assert "boom in Broken" in text                              # the summary


def test_cli_reports_bad_parameter_naming_task_and_parameter(working_dir, monkeypatch, capsys):
    monkeypatch.chdir(os.path.dirname(__file__))
    code = cli.main(["--module", "itasks", "Leaf", "--i", "seven",
                     "--working-dir", str(working_dir)])
    assert code == 2
    assert "Leaf: parameter 'i'" in capsys.readouterr().err


def test_task_runs_carry_the_luisy_key_as_cache_key(working_dir):
    root = Diamond()
    summary = luisy.build(root)
    keys = {str(s.task): s.key.key for s in summary.plan.steps.values()}
    runs = task_runs(summary.flow_run_id, expected=4)
    assert {r.name: r.state.state_details.cache_key for r in runs} == keys


def test_complete_tasks_can_be_shown_as_cached_task_runs(working_dir):
    luisy.build(Left())
    summary = luisy.build(Diamond(), report_complete=True)
    assert summary.completed == {Right(), Diamond()}
    runs = {r.name: r for r in task_runs(summary.flow_run_id, expected=4)}
    for name in ("Upstream()", "Left()"):
        assert runs[name].state.name == "Cached"
        assert runs[name].state.is_completed()
        assert runs[name].state.message == "complete: up to date"
    assert runs["Right()"].state.name == "Completed"
    assert upstream_ids(runs["Diamond()"]) == {runs["Left()"].id, runs["Right()"].id}
    assert upstream_ids(runs["Left()"]) == {runs["Upstream()"].id}


def test_prefect_options_give_retries_and_tags(working_dir):
    from itasks import Flaky

    summary = luisy.build(Flaky())
    assert summary.ok
    assert Flaky().read() == 3
    (run,) = task_runs(summary.flow_run_id, expected=1)
    assert run.run_count == 3
    assert set(run.tags) >= {"flaky", "io"}


def test_cli_on_a_temporary_server_prints_no_prefect_noise(tmp_path):
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PREFECT_") or k == "PREFECT_LOGGING_LEVEL"}
    env["PREFECT_HOME"] = str(home)
    luisy_cmd = os.path.join(os.path.dirname(sys.executable), "luisy")
    proc = subprocess.run(
        [luisy_cmd, "--module", "flows.sales.tasks", "SalesReport", "--working-dir",
         str(tmp_path / "wd"), "--no-ask", "--months", '["2024-01"]'],
        cwd=repo, env=env, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["TASK", "DECISION", "REASON"]
    assert [line.split()[1] for line in lines if line.startswith("[")] == ["done"] * 4
    assert not any("prefect" in line.lower() or "INFO" in line for line in lines)


def test_a_flow_that_fails_outside_any_task_is_a_failed_build(working_dir, monkeypatch):
    import luisy.runner

    def broken_scheduler(self):
        raise RuntimeError("scheduler down")

    monkeypatch.setattr(luisy.runner._Scheduler, "run", broken_scheduler)
    summary = luisy.build(Leaf(i=1))
    assert not summary.ok
    assert "scheduler down" in summary.flow_error
    assert "FLOW FAILED" in str(summary)


@pytest.mark.parametrize("publisher", ["publish_plan", "publish_outputs"])
def test_an_artifact_that_cannot_be_created_is_a_warning_not_a_failure(working_dir,
                                                                        monkeypatch, publisher):
    """The plan is sent as the flow run starts; the outputs table after it ended."""
    import luisy.artifacts

    def broken_publisher(plan, *summary):
        raise RuntimeError("artifact service down")

    monkeypatch.setattr(luisy.artifacts, publisher, broken_publisher)
    summary = luisy.build(Leaf(i=1))
    assert summary.ok and Leaf(i=1).complete()
    logs = flow_run_logs(summary.flow_run_id, contains="artifact service down")
    assert any("could not create an artifact: RuntimeError: artifact service down" in m
               for m in logs), logs


def test_the_outputs_table_is_on_the_flow_run_when_build_returns(working_dir):
    """It is sent after the last task, while Prefect ends the flow run, and waited for by
    build(): no polling here."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    summary = luisy.build(Leaf(i=4))
    with get_client(sync_client=True) as client:
        artifacts = {a.key: a for a in client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[summary.flow_run_id])))}
    assert set(artifacts) == {"luisy-plan-leaf", "luisy-dag-leaf", "luisy-outputs-leaf"}
    assert str(Leaf(i=4)) in artifacts["luisy-outputs-leaf"].data
    assert Leaf(i=4).output().path in artifacts["luisy-outputs-leaf"].data


def test_tiny_tasks_of_a_grouped_class_share_task_runs(working_dir):
    from itasks import Tiny, TinyFanIn

    summary = luisy.build(TinyFanIn(n=10), workers=1)
    assert summary.ok
    assert TinyFanIn(n=10).read() == 45
    runs = task_runs(summary.flow_run_id, expected=4)
    names = sorted(r.name for r in runs)
    assert names == ["Tiny x2 (Tiny(i=8, bad=False) … Tiny(i=9, bad=False))",
                     "Tiny x4 (Tiny(i=0, bad=False) … Tiny(i=3, bad=False))",
                     "Tiny x4 (Tiny(i=4, bad=False) … Tiny(i=7, bad=False))",
                     "TinyFanIn(n=10, bad=[])"]
    fan_in = next(r for r in runs if r.name.startswith("TinyFanIn"))
    assert upstream_ids(fan_in) == {r.id for r in runs if r.name.startswith("Tiny x")}
    # every member's key is recorded: a second build runs nothing
    assert luisy.build(TinyFanIn(n=10)).completed == set()
    assert summary.completed == {TinyFanIn(n=10), *(Tiny(i=i) for i in range(10))}


def test_a_failing_member_fails_its_group_run_and_only_itself(working_dir):
    from itasks import Tiny, TinyFanIn

    root = TinyFanIn(n=6, bad=[2])
    summary = luisy.build(root, workers=1)
    assert summary.failed == {Tiny(i=2, bad=True)}
    assert summary.upstream_failed == {root}
    assert summary.completed == {Tiny(i=i) for i in (0, 1, 3, 4, 5)}
    assert "tiny 2 is bad" in summary.errors[Tiny(i=2, bad=True)]
    runs = {r.name: r for r in task_runs(summary.flow_run_id, expected=2)}
    group = runs["Tiny x4 (Tiny(i=0, bad=False) … Tiny(i=3, bad=False))"]
    assert group.state.is_failed()
    assert "1 of 4 grouped tasks failed: Tiny(i=2, bad=True)" in group.state.message
    assert runs["Tiny x2 (Tiny(i=4, bad=False) … Tiny(i=5, bad=False))"].state.is_completed()
    logs = "\n".join(task_run_logs(group.id, contains="ValueError: tiny 2 is bad"))
    assert "ValueError: tiny 2 is bad" in logs


def test_force_reruns_the_named_tasks_and_their_downstream_only(working_dir, monkeypatch):
    assert luisy.build(Diamond()).ok
    mtimes = {t: os.stat(t.output().path).st_mtime_ns
              for t in (Upstream(), Left(), Right(), Diamond())}

    summary = luisy.build(Diamond(), force=["Left"])
    assert summary.ok
    assert summary.completed == {Left(), Diamond()}
    assert summary.already_done == {Upstream(), Right()}
    assert summary.plan.steps[Left()].reason == "forced"
    assert summary.plan.steps[Diamond()].reason == "upstream forced: Left()"
    for task in (Upstream(), Right()):  # untouched
        assert os.stat(task.output().path).st_mtime_ns == mtimes[task]
    assert luisy.build(Diamond()).already_done == {Upstream(), Left(), Right(), Diamond()}

    assert luisy.build(Diamond(), force="all").completed == {Upstream(), Left(), Right(),
                                                             Diamond()}
    with pytest.raises(luisy.errors.UsageError,
                       match=r"force: Nope is no task \(to run\) below Diamond\(\); name a task"):
        luisy.build(Diamond(), force=["Nope"])

    monkeypatch.chdir(os.path.dirname(__file__))
    out = io.StringIO()
    code = cli.main(["--module", "itasks", "Diamond", "--working-dir", str(working_dir),
                     "--no-ask", "--force", "Right()"], out=out)
    assert code == 0
    text = out.getvalue()
    assert "Right()" in text and "forced" in text and "upstream forced: Right()" in text
