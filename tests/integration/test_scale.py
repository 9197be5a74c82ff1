"""Scale: a flow run of 3,000 task runs is recorded in full on the server, and its graph loads.

The server records task runs asynchronously from events the flow run sends; with Prefect's
default task-run recorder settings a few thousand short task runs trickle in minutes after the
flow run ended. The session server runs with luisy's recommended settings
(``luisy.testing.server.SERVER_ENV``, docs/prefect.md), under which this test must pass.
"""
import time

from flows.loadcheck.tasks import LoadCheck
from prefect_api import flow_run

import luisy

PINGS = 3000
#: after the flow run ended, how long the server may take to record every task run
RECORDING_TIMEOUT = 90


def count_task_runs(client, flow_run_id, state_type: str | None = None) -> int:
    body = {"flow_runs": {"id": {"any_": [str(flow_run_id)]}}}
    if state_type:
        body["task_runs"] = {"state": {"type": {"any_": [state_type]}}}
    response = client.request("POST", "/task_runs/count", json=body)
    response.raise_for_status()
    return response.json()


def wait_until_recorded(server, flow_run_id, expected: int) -> None:
    """Poll until ``expected`` task runs of the flow run are Completed on the server; on
    timeout, say what the server logged (a dropped event is logged there)."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + RECORDING_TIMEOUT
    with get_client(sync_client=True) as client:
        while True:
            completed = count_task_runs(client, flow_run_id, "COMPLETED")
            if completed >= expected:
                return
            if time.monotonic() > deadline:
                total = count_task_runs(client, flow_run_id)
                problems = "\n".join(server.problems()[-20:]) or "(its log has no warning)"
                raise AssertionError(f"after {RECORDING_TIMEOUT}s the server has {total} task "
                                     f"runs, {completed} Completed, of {expected}; the "
                                     f"server said:\n{problems}")
            time.sleep(1)


def read_graph(flow_run_id) -> dict:
    """The flow-run graph as the UI loads it (``/flow_runs/{id}/graph-v2``)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        response = client.request("GET", "/flow_runs/{id}/graph-v2",
                                  path_params={"id": flow_run_id})
    response.raise_for_status()
    return response.json()


def read_artifacts(flow_run_id) -> dict:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        return {a.key: a for a in client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))}


def test_three_thousand_task_runs_end_completed_and_the_graph_loads(working_dir,
                                                                     prefect_server):
    root = LoadCheck(n=PINGS, label="scale-test")
    summary = luisy.build(root, workers=8)
    assert summary.ok, summary.errors
    assert len(summary.completed) == PINGS + 1
    assert root.read() == {"pings": PINGS, "sum": PINGS * (PINGS - 1) // 2}
    assert flow_run(summary.flow_run_id).state.is_completed()

    wait_until_recorded(prefect_server, summary.flow_run_id, PINGS + 1)

    graph = read_graph(summary.flow_run_id)
    nodes = {node["label"]: node for _, node in graph["nodes"]}
    assert len(nodes) == PINGS + 1
    assert {node["state_type"] for node in nodes.values()} == {"COMPLETED"}
    assert {node["kind"] for node in nodes.values()} == {"task-run"}
    fan_in = nodes[str(root)]
    # every dependency edge is on the server. Prefect's graph query lists a parent once per
    # input of that parent (a Ping has two: i, label), as for any Prefect task: count edges
    parents = {edge["id"] for edge in fan_in["parents"]}
    assert parents == {node["id"] for label, node in nodes.items() if label != str(root)}
    assert {edge["id"] for edge in nodes["Ping(i=0, label=scale-test)"]["children"]} == {
        fan_in["id"]}

    # luisy's own artifacts stay small past their caps (documented in docs/prefect.md)
    artifacts = read_artifacts(summary.flow_run_id)
    plan = artifacts["luisy-plan-loadcheck"]
    assert f"(first 1000 of {PINGS + 1})" in plan.description
    dag = artifacts["luisy-dag-loadcheck"].data
    assert f"Ping x{PINGS}" in dag  # one node per task class past 300 tasks
