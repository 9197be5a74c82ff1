"""What a Prefect user looks at, on a real server: cache keys, Cached states, task-run
parameters, assets and their lineage, one flow per pipeline (issue 14)."""
import io

import pytest
from native_tasks import CleanSales, MonthlyReport, Prices, RawSales
from prefect.client.orchestration import get_client
from prefect_api import asset_events, flow_run, task_runs, upstream_ids

import luisy
from luisy import cli

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.prefect]

MONTHS = ["2024-01", "2024-02"]


@pytest.fixture
def prices(working_dir):
    """The external input, delivered."""
    path = Prices().output().path
    import os

    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as out:
        out.write("item,price\na,1\n")
    return path


def _by_name(flow_run_id, expected):
    return {r.name: r for r in task_runs(flow_run_id, expected=expected)}


def test_task_runs_carry_the_luisy_key_as_prefects_cache_key(prices):
    root = MonthlyReport(months=MONTHS)
    plan = luisy.plan(root)
    summary = luisy.build(root)

    runs = _by_name(summary.flow_run_id, expected=5)
    for task in (RawSales(month="2024-01"), CleanSales(month="2024-02"), root):
        run = runs[str(task)]
        key = plan.steps[task].key.key
        assert run.cache_key == key  # the task run's own field, as the API returns it
        assert run.state.state_details.cache_key == key
        assert run.state.name == "Completed"


def test_a_noop_rebuild_shows_complete_tasks_as_cached_task_runs_only_when_asked(prices):
    root = MonthlyReport(months=MONTHS)
    first = luisy.build(root)
    assert first.ok and len(first.completed) == 5

    quiet = luisy.build(root)
    assert quiet.flow_run_id is None  # nothing to run, nothing to show: no flow run
    complete = first.completed | {Prices()}  # the external input is there: complete too
    assert quiet.already_done == complete

    shown = luisy.build(root, report_complete=True)
    assert shown.already_done == complete and not shown.completed
    runs = _by_name(shown.flow_run_id, expected=6)
    assert set(runs) == {str(t) for t in complete}
    first_keys = {r.name: r.cache_key for r in task_runs(first.flow_run_id, expected=5)}
    for name, run in runs.items():
        assert run.state.type.value == "COMPLETED" and run.state.name == "Cached", name
        assert run.cache_key == first_keys.get(name, run.cache_key)  # the key it was made under
        assert run.cache_key == luisy.plan(root).steps[
            next(t for t in complete if str(t) == name)].key.key
        assert run.state.message.startswith("complete")
    assert flow_run(shown.flow_run_id).state.is_completed()


def test_task_runs_show_the_luisy_parameters_and_keep_their_edges(prices):
    root = MonthlyReport(months=MONTHS, min_quantity=2)
    summary = luisy.build(root, workers=2)
    runs = _by_name(summary.flow_run_id, expected=5)

    clean = runs["CleanSales(month=2024-01, min_quantity=2)"]
    assert set(clean.task_inputs) == {"month", "min_quantity", "wait_for"}
    assert upstream_ids(clean) == {runs["RawSales(month=2024-01)"].id}
    assert set(runs["RawSales(month=2024-01)"].task_inputs) == {"month"}
    report = runs[str(root)]
    assert set(report.task_inputs) == {"months", "min_quantity", "wait_for"}
    assert upstream_ids(report) == {runs["CleanSales(month=2024-01, min_quantity=2)"].id,
                                    runs["CleanSales(month=2024-02, min_quantity=2)"].id}
    assert root.read() == {"2024-01": 2, "2024-02": 2}
    # the flow run's own parameters: none (a build's internal id is nothing to show)
    assert flow_run(summary.flow_run_id).parameters == {}


def test_grouped_task_runs_show_their_members_and_materialise_each(prices, working_dir):
    root = MonthlyReport(months=MONTHS)
    summary = luisy.build(root, group_size=10)
    runs = task_runs(summary.flow_run_id, expected=3)
    group = next(r for r in runs if r.name.startswith("RawSales x2"))
    assert set(group.task_inputs) == {"tasks"}
    assert len(group.cache_key) == 64
    raw = {"file://" + RawSales(month=m).output().path for m in MONTHS}
    events = asset_events("file://" + str(working_dir), expected=5 + 2)
    made = {e["resource"]["prefect.resource.id"] for e in events
            if e["event"] == "prefect.asset.materialization.succeeded"}
    assert raw <= made and len(made) == 5


def test_each_output_written_is_a_prefect_asset_materialised_from_its_inputs(prices,
                                                                             working_dir):
    root = MonthlyReport(months=["2024-01"])
    summary = luisy.build(root)
    assert summary.ok
    uri = {t: "file://" + t.output().path for t in
           (Prices(), RawSales(month="2024-01"), CleanSales(month="2024-01"), root)}
    prefix = "file://" + str(working_dir)
    events = asset_events(prefix, expected=3 + 1)  # 3 materialised, the external referenced

    made = {e["resource"]["prefect.resource.id"]: e for e in events
            if e["event"] == "prefect.asset.materialization.succeeded"}
    assert set(made) == {uri[RawSales(month="2024-01")], uri[CleanSales(month="2024-01")],
                         uri[root]}  # the external input is never materialised by luisy

    def upstream(task):
        return {r["prefect.resource.id"] for r in made[uri[task]]["related"]
                if r["prefect.resource.role"] == "asset"}

    assert upstream(RawSales(month="2024-01")) == set()
    assert upstream(CleanSales(month="2024-01")) == {uri[RawSales(month="2024-01")],
                                                     uri[Prices()]}
    assert upstream(root) == {uri[CleanSales(month="2024-01")]}
    clean = made[uri[CleanSales(month="2024-01")]]
    assert clean["payload"]["task"] == "CleanSales(month=2024-01, min_quantity=1)"
    assert clean["payload"]["luisy_key"] == luisy.plan(root).steps[
        CleanSales(month="2024-01")].key.key
    referenced = [e["resource"]["prefect.resource.id"] for e in events
                  if e["event"] == "prefect.asset.referenced"]
    assert referenced == [uri[Prices()]]  # outputs of tasks have their materialisation


def test_asset_keys_are_valid_uris_whatever_the_path(tmp_path):
    from prefect.assets import Asset

    from luisy.assets import asset_key

    luisy.Config().reset()
    try:
        luisy.Config().set_param("working_dir", str(tmp_path / "a dir with [odd] %chars#"))
        key = asset_key(RawSales(month="2024-01"))
        assert Asset(key=key).key == key  # Prefect accepts it
        assert key.startswith("file://") and " " not in key and "%" not in key
    finally:
        luisy.Config().reset()


def test_build_cli_and_deployable_flow_of_a_root_run_under_one_flow(prices, working_dir,
                                                                   prefect_server):
    first = luisy.build(MonthlyReport(months=["2024-01"]))
    out = io.StringIO()
    assert cli.main(["--module", "native_tasks", "MonthlyReport", "--months", '["2024-02"]',
                     "--working-dir", str(working_dir), "--no-ask"], out=out) == 0
    url = next(line for line in out.getvalue().splitlines() if line.startswith("flow run: "))
    url = url.removeprefix("flow run: ")
    ui = prefect_server.api_url.removesuffix("/api")  # the tests' server serves no UI
    assert url.startswith(ui + "/runs/flow-run/")
    cli_run = flow_run(url.rsplit("/", 1)[1])
    assert cli_run.name == 'MonthlyReport(months=["2024-02"], min_quantity=1)'
    flow = luisy.flow(MonthlyReport)
    flow(months=["2024-03"], working_dir=str(working_dir))

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(limit=200)
        ours = [r for r in runs if r.name.startswith("MonthlyReport(months=")]
        flows = {client.read_flow(r.flow_id).name for r in ours}
    assert flow_run(first.flow_run_id).flow_id in {r.flow_id for r in ours}
    assert {r.name for r in ours} >= {"MonthlyReport(months=[\"2024-01\"], min_quantity=1)"}
    assert flows == {"MonthlyReport"}
    assert len({r.flow_id for r in ours}) == 1


def test_the_cli_names_no_url_for_a_server_that_is_gone_when_it_ends(working_dir):
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    from luisy.cli import _flow_run_url
    from luisy.summary import BuildSummary

    summary = BuildSummary(plan=luisy.plan(RawSales(month="2024-01")), dry_run=False)
    summary.flow_run_id = "0d3c5b3e-0000-4000-8000-000000000000"
    with temporary_settings(restore_defaults={PREFECT_API_URL, PREFECT_UI_URL}):
        assert _flow_run_url(summary) is None


def test_a_failed_task_emits_a_failed_materialisation(working_dir):
    from itasks import Broken

    summary = luisy.build(Broken())
    assert summary.failed == {Broken()}
    events = asset_events("file://" + str(working_dir), expected=1)
    assert [(e["event"], e["resource"]["prefect.resource.id"]) for e in events] == [
        ("prefect.asset.materialization.failed", "file://" + Broken().output().path)]


def test_a_wide_fan_in_names_as_many_inputs_as_an_event_may_hold(working_dir):
    from itasks import FanIn

    root = FanIn(n=120)
    assert luisy.build(root, workers=4).ok
    uri = "file://" + root.output().path
    events = asset_events(uri, expected=1)
    assert len(events) == 1
    event = events[0]
    assert len(event["related"]) <= 100  # Prefect's limit: the event is accepted, not dropped
    assert event["payload"]["inputs"] == 120
