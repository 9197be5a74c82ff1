"""Reading what a build left on the Prefect server, through Prefect's client API."""
import time

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    LogFilter,
    LogFilterFlowRunId,
    LogFilterTaskRunId,
)


def task_runs(flow_run_id, expected: int | None = None, timeout: float = 30.0):
    """Task runs of a flow run, waiting until ``expected`` of them are recorded in a final state
    (the server records task runs asynchronously)."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id={"any_": [flow_run_id]}), limit=200)
            settled = [r for r in runs if r.state and r.state.is_final()]
            if expected is None or len(settled) >= expected or time.monotonic() > deadline:
                if expected is None or len(settled) >= expected:
                    return runs
                raise AssertionError(f"only {len(settled)} of {expected} task runs recorded")
            time.sleep(0.2)


def flow_run(flow_run_id):
    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def flow_run_count() -> int:
    with get_client(sync_client=True) as client:
        return client.count_flow_runs()


def _logs(log_filter: LogFilter, timeout: float, contains: str | None) -> list[str]:
    """Messages matching the filter, waiting until there are some (containing ``contains``)."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            messages = [entry.message for entry in client.read_logs(log_filter)]
            found = any(contains in m for m in messages) if contains else messages
            if found or time.monotonic() > deadline:
                return messages
            time.sleep(0.3)


def task_run_logs(task_run_id, timeout: float = 15.0, contains: str | None = None) -> list[str]:
    return _logs(LogFilter(task_run_id=LogFilterTaskRunId(any_=[task_run_id])), timeout,
                 contains)


def flow_run_logs(flow_run_id, timeout: float = 15.0, contains: str | None = None) -> list[str]:
    return _logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), timeout,
                 contains)


def upstream_ids(task_run) -> set:
    """Ids of the task runs this one waited for (Prefect's recorded dependency edges)."""
    inputs = task_run.task_inputs or {}
    return {ref.id for refs in inputs.values() for ref in refs if hasattr(ref, "id")}


def asset_events(uri_prefix: str, expected: int, timeout: float = 30.0) -> list[dict]:
    """``prefect.asset.*`` events about assets under ``uri_prefix``, once ``expected`` of
    them are recorded (the server stores events asynchronously)."""
    body = {"filter": {"event": {"prefix": ["prefect.asset."]},
                       "any_resource": {"id_prefix": [uri_prefix]}},
            "limit": 50}
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            events = client.request("POST", "/events/filter", json=body).json()["events"]
            if len(events) >= expected or time.monotonic() > deadline:
                return events
            time.sleep(0.3)
