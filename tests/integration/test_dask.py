"""Prefect's Dask task runner: luisy tasks run in other processes (as on other machines).

luisy's scheduler still decides what runs when (at most ``workers`` at once); Dask only carries
each task run to a worker process, which must get the task, its settings (working dir) and the
task-run body by pickling.
"""
import pytest
from itasks import FanIn, Leaf
from prefect_api import flow_run, task_runs, upstream_ids

import luisy

pytestmark = pytest.mark.usefixtures("prefect_server")

prefect_dask = pytest.importorskip("prefect_dask", reason="needs the `dask` extra")


def test_fan_in_on_a_local_dask_cluster_of_two_processes(working_dir):
    runner = prefect_dask.DaskTaskRunner(cluster_kwargs={
        "n_workers": 2, "processes": True, "threads_per_worker": 1, "dashboard_address": None})
    root = FanIn(n=4)
    summary = luisy.build(root, workers=2, task_runner=runner)

    assert summary.ok, summary.errors or summary.flow_error
    leaves = {Leaf(i=i) for i in range(4)}
    assert summary.completed == {root, *leaves}
    assert root.read() == 6  # written by worker processes into this working dir
    assert flow_run(summary.flow_run_id).state.is_completed()
    runs = {r.name: r for r in task_runs(summary.flow_run_id, expected=5)}
    assert set(runs) == {str(t) for t in (root, *leaves)}
    assert all(r.state.is_completed() for r in runs.values())
    assert upstream_ids(runs[str(root)]) == {runs[str(leaf)].id for leaf in leaves}
