"""The luisy 1.x tutorial pipeline (TaskA -> TaskB -> TaskC) on the embedded engine."""
from __future__ import annotations

import pickle

import pandas as pd
import pytest
from sparktest_tasks import TaskA, TaskB, TaskC, seed_raw
from sparktest_util import run_python

import luisy
from luisy.targets.delta import DeltaTableTarget

EXPECTED = pd.DataFrame({"a": [1, 2, 3], "b": [10, 20, 30], "f": [2, 4, 6]})


def pickled_result(task) -> pd.DataFrame:
    with open(task.output().path, "rb") as fh:
        result = pickle.load(fh)
    assert isinstance(result, pd.DataFrame)  # the pickle holds pandas, not a Spark frame
    return result.sort_values("a").reset_index(drop=True)


def _engine_log_lines(flow_run_id, timeout: float = 20.0) -> list[str]:
    """The 'engine: ...' lines the task runs of a flow run logged, as the UI shows them."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            lines = [entry.message for entry in logs if entry.message.startswith("engine: ")]
            if len(lines) >= 3 or time.monotonic() > deadline:
                return lines
            time.sleep(0.3)


def test_tutorial_pipeline_run_as_written(on_embedded):
    seed_raw()
    for task in (TaskA(), TaskB(), TaskC()):
        task.run()

    interim = DeltaTableTarget(catalog="my_catalog", schema="my_schema", table_name="interim")
    assert interim.read().columns == ["a", "b"]
    assert pickled_result(TaskC()).equals(EXPECTED)


@pytest.mark.usefixtures("prefect_server", "embedded_spark")
def test_tutorial_build_and_a_new_process_finds_it_complete(working_dir):
    seed_raw()
    summary = luisy.build(TaskC(), cloud_mode=True)  # session: luisy's default resolution
    assert summary.ok
    assert summary.completed == {TaskA(), TaskB(), TaskC()}
    assert pickled_result(TaskC()).equals(EXPECTED)
    engine_lines = _engine_log_lines(summary.flow_run_id)
    assert len(engine_lines) == 3
    assert all(line.startswith("engine: embedded pysail at sc://127.0.0.1:")
               for line in engine_lines)

    out = run_python(
        "import luisy, sparktest_tasks as t\n"
        "s = luisy.build(t.TaskC(), cloud_mode=True)\n"
        "print(sorted(map(str, s.already_done)), sorted(map(str, s.completed)))\n",
        WORKING_DIR=str(working_dir))
    assert out.strip().splitlines()[-1] == "['TaskA()', 'TaskB()', 'TaskC()'] []"
