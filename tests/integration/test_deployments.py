"""prefect.yaml: checked strictly (Prefect itself only warns), then deployed end to end.

The end-to-end part runs what an operator runs, each as its own process: a real server (its own,
not the session's: the CLI and the worker must not touch the session's state), ``prefect
work-pool create``, ``prefect deploy --all``, ``prefect worker start`` as ``prefect deploy`` prints
it (elsewhere, without ``LUISY_REPO``); then it triggers the sales deployment and checks
everything through Prefect's API. Runs whose checkout is missing must crash in their pull step
with a line naming ``LUISY_REPO``. Last, the docs' "From nothing to a finished run" block runs in
bash as it is.
"""
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from flows.sales.tasks import SalesReport
from prefect_api import flow_run, flow_run_logs, task_run_logs, task_runs, upstream_ids

import luisy
from luisy.config import Config
from luisy.deployments import main, validate_prefect_yaml
from luisy.testing.server import QUIET_ENV, PrefectServer, free_port

REPO = Path(__file__).resolve().parents[2]
PREFECT_YAML = REPO / "prefect.yaml"
POOL = "luisy-process"
POOL_TYPES = {POOL: "process"}
PREFECT = Path(sys.executable).with_name("prefect")


def declared() -> dict:
    return yaml.safe_load(PREFECT_YAML.read_text())


# ------------------------------------------------------------------------ the repository's file
def test_prefect_yaml_has_no_problems():
    assert validate_prefect_yaml(PREFECT_YAML, pool_types=POOL_TYPES) == []


def test_every_example_pipeline_is_deployed_to_the_process_pool_with_an_inactive_schedule():
    deployments = declared()["deployments"]
    pipelines = sorted(f"{p.parent.relative_to(REPO).as_posix()}/flow.py"
                       for p in REPO.glob("flows/*/__init__.py"))
    assert sorted(d["entrypoint"].split(":")[0] for d in deployments) == pipelines
    for deployment in deployments:
        assert deployment["work_pool"]["name"] == POOL
        assert deployment["parameters"]
        assert deployment["schedules"]
        assert all(schedule["active"] is False for schedule in deployment["schedules"])


def test_command_line_check(capsys, tmp_path):
    assert main([str(PREFECT_YAML)]) == 0
    assert capsys.readouterr().out.strip().endswith(": ok")
    broken = tmp_path / "prefect.yaml"
    broken.write_text("deployments: []\nbulid: []\n")
    assert main([str(broken)]) == 1
    assert "unknown top-level key 'bulid'" in capsys.readouterr().out


# --------------------------------------------------------------- the validator on broken copies
def _set(path: str, value):
    """A change to the declared config: ``path`` like ``deployments.0.work_pool.name``."""
    *parents, last = path.split(".")

    def change(config):
        node = config
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if value is _DELETE:
            del node[last]
        else:
            node[int(last) if isinstance(node, list) else last] = value
    return change


_DELETE = object()
SALES = "deployments[0] (monthly)"
BUILD_STEP = "luisy.deploy_steps.checkout_directory"
PULL_STEP = "luisy.deploy_steps.enter_checkout"

BROKEN = {
    "top-level key": (_set("deploymnts", []), "unknown top-level key 'deploymnts'"),
    "deployment key": (_set("deployments.0.paramters", {"min_quantity": 2}),
                       f"{SALES}: unknown key 'paramters'"),
    "work pool key": (_set("deployments.0.work_pool.job_variable", {}),
                      f"{SALES}.work_pool: unknown key 'job_variable'"),
    "job variable": (_set("deployments.0.work_pool.job_variables", {"working_dri": "/tmp"}),
                     f"{SALES}.work_pool.job_variables: unknown job variable 'working_dri' "
                     "for a 'process' pool"),
    "job variable type": (_set("deployments.0.work_pool.job_variables", {"stream_output": 3}),
                          f"{SALES}.work_pool.job_variables.stream_output: 3 is not of type "
                          "'boolean'"),
    # the misspelt flag of an inactive schedule: Prefect skips every deployment with a warning
    "schedule key": (_set("deployments.0.schedules.0", {"cron": "0 6 2 * *", "activ": False}),
                     f"{SALES}.schedules[0]: unknown key 'activ'"),
    "concurrency key": (_set("deployments.0.concurrency_limit",
                             {"limit": 1, "colision_strategy": "CANCEL_NEW"}),
                        f"{SALES}.concurrency_limit: unknown key 'colision_strategy'"),
    "trigger key": (_set("deployments.0.triggers", [{"expect": ["prefect.flow-run.Completed"],
                                                     "treshold": 2}]),
                    f"{SALES}.triggers[0]: unknown key 'treshold'"),
    "pull step input": (lambda c: c["pull"][0][PULL_STEP].update(dir="x"),
                        f"pull[0]: {PULL_STEP} takes no input 'dir'"),
    "pull step function": (_set("pull", [{"prefect.deployments.steps.set_working_dir": {}}]),
                           "pull[0]: cannot import prefect.deployments.steps.set_working_dir "
                           "(module 'prefect.deployments.steps' has no attribute "
                           "'set_working_dir') and no `requires:` says what to install"),
    "build step function": (_set("build", [{"luisy.deploy_steps.checkout_dir":
                                                {"id": "checkout"}}]),
                            "build[0]: cannot import luisy.deploy_steps.checkout_dir "),
    # a misspelt output is kept as text by `prefect deploy`, then dropped when a run starts:
    # the pull step would be called without its directory
    "pull step template": (lambda c: c["pull"][0][PULL_STEP].update(
                               directory="{{ chekout.directory }}"),
                           "pull[0]: '{{ chekout.directory }}' is the output of a step with id "
                           "'chekout', but no step before it has that id"),
    "build step id": (lambda c: c["build"][0][BUILD_STEP].pop("id"),
                      "pull[0]: '{{ checkout.directory }}' is the output of a step with id "
                      "'checkout', but no step before it has that id"),
    "a deployment's own build": (_set("deployments.0.build", []),
                                 "pull[0]: '{{ checkout.directory }}' is the output of a step "
                                 "with id 'checkout', but no step before it has that id (for "
                                 f"{SALES}: its own build replaces the file's)"),
    "unknown parameter": (_set("deployments.0.parameters.min_quantiy", 2),
                          f"{SALES}.parameters: 'min_quantiy' is not a parameter of flow "
                          "'SalesReport' (it has: months, min_quantity, working_dir, workers, "
                          "dry_run, hash_update_mode, report_complete, group_size, "
                          "spark_block)"),
    "parameter type": (_set("deployments.0.parameters.months", "2024-01"),
                       f"{SALES}.parameters.months: '2024-01' is not of type 'array'"),
    "schedule parameter type": (_set("deployments.0.schedules.0.parameters",
                                     {"min_quantity": "two"}),
                                f"{SALES}.schedules[0].parameters.min_quantity: 'two' is not of "
                                "type 'integer'"),
    "entrypoint": (_set("deployments.0.entrypoint", "flows/sales/flow.py:sales"),
                   f"{SALES}: entrypoint flows/sales/flow.py:sales: does not load: "
                   "MissingFlowError: Flow function with name 'sales' not found in "),
    "flow name": (_set("deployments.0.flow_name", "sales"),
                  f"{SALES}: flow_name 'sales' is not the entrypoint's flow 'SalesReport'"),
    "no work pool": (_set("deployments.0.work_pool", _DELETE),
                     f"{SALES}: no work_pool.name (`prefect deploy --all` needs one)"),
    "duplicate": (lambda c: c["deployments"].append(dict(c["deployments"][0])),
                  f"deployments[{len(declared()['deployments'])}] (monthly): "
                  f"'SalesReport/monthly' is already declared by {SALES}"),
    "templates are left to Prefect": (_set("deployments.0.parameters.workers", "{{ $WORKERS }}"),
                                      None),
}


@pytest.fixture
def copy_with(tmp_path):
    """Write the declared config, changed, beside a link to ``flows/`` (entrypoints load)."""
    (tmp_path / "flows").symlink_to(REPO / "flows")

    def write(change) -> Path:
        config = declared()
        change(config)
        path = tmp_path / "prefect.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path
    return write


@pytest.mark.parametrize("change, expected", BROKEN.values(), ids=BROKEN.keys())
def test_each_mistake_is_one_precise_problem(copy_with, change, expected):
    problems = validate_prefect_yaml(copy_with(change), pool_types=POOL_TYPES)
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1, problems
        assert problems[0].startswith(expected)


def test_a_schedule_must_give_required_parameters(copy_with, tmp_path):
    # CleanSales has a required parameter (month): its flow cannot run on a schedule without it
    (tmp_path / "clean.py").write_text(
        "import luisy\nfrom flows.sales.tasks import CleanSales\n\n"
        "clean_sales = luisy.flow(CleanSales, name='clean-sales')\n")
    deployment = {"name": "clean", "entrypoint": "clean.py:clean_sales", "parameters": {},
                  "work_pool": {"name": POOL},
                  "schedules": [{"cron": "0 6 * * *", "active": False}]}

    def add(config):
        config["deployments"] = [deployment]

    assert validate_prefect_yaml(copy_with(add)) == [
        "deployments[0] (clean).schedules[0]: required parameter 'month' is not given "
        "(a scheduled run has nobody to ask)"]
    deployment["schedules"][0]["parameters"] = {"month": "2024-01"}
    assert validate_prefect_yaml(copy_with(add)) == []


# ------------------------------------------------------------------------------ end to end
MONTHS = ["2024-01", "2024-02"]
DEPLOYMENT = "SalesReport/monthly"


def _checkout_state() -> tuple:
    """What ``prefect deploy`` could write in the checkout it runs in."""
    return (PREFECT_YAML.read_bytes(),
            [name for name in (".prefect", ".prefectignore") if (REPO / name).exists()])


def _cli(env: dict, *args: str, timeout: float = 120) -> str:
    done = subprocess.run([str(PREFECT), *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _stop_group(leader: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the process group ``leader`` started (``start_new_session``), SIGKILL what is
    left of it after ``timeout``.

    The group is polled with signal 0: its members that left their parent (a ``prefect server
    start --background``, a worker started with ``&``) are not this process's to wait for.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        deadline = time.monotonic() + timeout
        try:
            os.killpg(leader.pid, sig)
            while time.monotonic() < deadline:
                leader.poll()  # reap it: a zombie still counts as a member
                os.killpg(leader.pid, 0)
                time.sleep(0.2)
        except ProcessLookupError:
            break
    leader.wait()


@contextlib.contextmanager
def _worker(command: str, env: dict, log: Path):
    """``command`` (``prefect worker start ...``) run by the shell's rules, from ``log``'s
    directory, in its own process group: stopped (killed if need be) on exit."""
    with open(log, "wb") as out:
        process = subprocess.Popen(shlex.split(command), env=env, cwd=log.parent, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        try:
            yield process
        finally:
            _stop_group(process)


def _cli_env(server: PrefectServer, home: Path) -> dict:
    """The environment of an operator's shell: the venv's ``prefect`` on PATH, the server's
    API URL, a profile of its own, and no ``LUISY_REPO``: the deployments must find the
    checkout without it."""
    env = {**os.environ, **server.env, "PREFECT_HOME": str(home),
           "PATH": f"{PREFECT.parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PREFECT_WORKER_QUERY_SECONDS": "1"}  # workers poll every second, not every 10
    env.pop("LUISY_REPO", None)
    return env


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """A server of its own, the pool, ``prefect deploy --all``, a worker, and one run of the
    sales deployment; everything started here is stopped at the end."""
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    base = tmp_path_factory.mktemp("e2e")
    server = PrefectServer()
    saved = {key: os.environ.get(key) for key in server.env}
    with contextlib.ExitStack() as stack:
        stack.callback(server.stop)
        server.start()
        for key, value in saved.items():  # start() points this process at it: undo
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        env = _cli_env(server, base / "client-home")
        _cli(env, "work-pool", "create", POOL, "--type", "process")
        before = _checkout_state()
        deploy_output = _cli(env, "--no-prompt", "deploy", "--all",
                             "--prefect-file", str(PREFECT_YAML))
        after = _checkout_state()
        # the worker exactly as `prefect deploy` tells the user to start it, from elsewhere
        worker_log = base / "worker.log"
        stack.enter_context(_worker(_printed_worker_command(deploy_output), env, worker_log))
        stack.enter_context(temporary_settings({PREFECT_API_URL: server.api_url}))

        working_dir = base / "wd"
        Config().reset()
        stack.callback(Config().reset)
        Config().set_param("working_dir", str(working_dir))
        root = SalesReport(months=MONTHS)
        plan = luisy.plan(root)  # before the run: what the worker is expected to run
        run = run_deployment(DEPLOYMENT, parameters={"months": MONTHS,
                                                     "working_dir": str(working_dir)},
                             timeout=75, poll_interval=1)
        yield SimpleNamespace(server=server, run=run, plan=plan, root=root, env=env,
                              working_dir=working_dir, deploy_output=deploy_output,
                              worker_log=worker_log, checkout=(before, after))


def _printed_worker_command(deploy_output: str) -> str:
    """The ``prefect worker start`` command ``prefect deploy`` prints after each deployment."""
    commands = set(re.findall(r"\$ (prefect worker start --pool .+?)\s*$", deploy_output,
                              re.MULTILINE))
    assert commands == {f"prefect worker start --pool '{POOL}'"}, deploy_output
    return commands.pop()


def _worker_tail(deployed, lines: int = 40) -> str:
    text = deployed.worker_log.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def test_deploy_all_creates_the_declared_deployments(deployed):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        created = {d.name: d for d in client.read_deployments()}
    assert set(created) == {item["name"] for item in declared()["deployments"]}
    for item in declared()["deployments"]:
        deployment = created[item["name"]]
        assert deployment.entrypoint == item["entrypoint"]
        assert deployment.work_pool_name == POOL
        assert deployment.parameters == item["parameters"]
        # the build step's output, filled in at deploy time: where `prefect deploy` ran
        assert deployment.pull_steps == [{PULL_STEP: {"directory": str(REPO)}}]
        assert [s.active for s in deployment.schedules] == [False] * len(item["schedules"])
        assert [s.schedule.cron for s in deployment.schedules] == [
            s["cron"] for s in item["schedules"]]


def test_the_run_completes_with_one_named_task_run_per_task_and_its_edges(deployed):
    run = flow_run(deployed.run.id)
    assert run.state.is_completed(), f"{run.state}\nworker log:\n{_worker_tail(deployed)}"
    assert run.name == str(deployed.root)
    assert run.parameters["months"] == MONTHS

    steps = {str(step.task): step for step in deployed.plan.to_run}
    assert len(steps) == 6  # 2 x CleanSales, 2 x MonthlySummary, AllMonths, SalesReport
    runs = {r.name: r for r in task_runs(run.id, expected=len(steps))}
    assert set(runs) == set(steps)
    assert all(r.state.is_completed() for r in runs.values())
    for name, step in steps.items():
        upstream = {runs[str(dep)].id for dep in step.deps if str(dep) in steps}
        assert upstream_ids(runs[name]) == upstream, name
        assert runs[name].state.state_details.cache_key == step.key.key


def test_the_run_publishes_plan_dag_and_outputs_artifacts(deployed):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        artifacts = {a.key: a for a in client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[deployed.run.id])))}
    assert {k: a.type for k, a in artifacts.items()} == {
        "luisy-plan-salesreport": "table",
        "luisy-dag-salesreport": "markdown",
        "luisy-outputs-salesreport": "table",
    }
    plan_rows = _table(artifacts["luisy-plan-salesreport"])
    assert {row["task"]: row["decision"] for row in plan_rows} == {
        str(s.task): s.decision.value for s in deployed.plan.steps.values()}
    dag = artifacts["luisy-dag-salesreport"].data
    assert "```mermaid" in dag and "classDef run" in dag and "-->" in dag
    outputs = _table(artifacts["luisy-outputs-salesreport"])
    assert {row["task"] for row in outputs} == {str(s.task) for s in deployed.plan.to_run}
    assert all(os.path.exists(row["output"]) for row in outputs)


def _table(artifact) -> list[dict]:
    data = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    return data


def test_the_run_writes_the_outputs_and_their_keys(deployed):
    report = deployed.root.read()
    assert report["months"] == MONTHS
    assert report["total_revenue"] > 0
    for step in deployed.plan.to_run:
        assert Path(step.location).is_relative_to(deployed.working_dir), step.location
    # the worker recorded the same keys this process computes: nothing is left to run
    assert luisy.plan(deployed.root).to_run == []


def test_self_logger_lines_land_in_the_task_run_logs(deployed):
    runs = {r.name: r for r in task_runs(deployed.run.id)}
    clean = runs["CleanSales(month=2024-01, min_quantity=1)"]
    assert any("kept 195 of 200 orders" in line
               for line in task_run_logs(clean.id, contains="kept 195 of 200 orders"))


def test_deploying_leaves_the_checkout_alone(deployed):
    before, after = deployed.checkout
    assert after == before
    assert DEPLOYMENT in deployed.deploy_output


# ---------------------------------------------------------------- a checkout that is not there
ENTRYPOINT = "flows/sales/flow.py:sales_report"
FIX = ("Set LUISY_REPO to the checkout to run it in where the worker starts: "
       "LUISY_REPO=/path/to/checkout prefect worker start --pool '{pool}'")


def _deploy_sales(name: str, pool: str, checkout: Path) -> str:
    """The sales flow deployed as ``prefect deploy`` run in ``checkout`` would have deployed it
    (the build step's output in the pull step)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.create_deployment(flow_id=client.read_flow_by_name("SalesReport").id, name=name,
                                 entrypoint=ENTRYPOINT, work_pool_name=pool,
                                 pull_steps=[{PULL_STEP: {"directory": str(checkout)}}])
    return f"SalesReport/{name}"


def _assert_ended_before_loading_the_flow(run_id, message: str, worker_log: Path) -> None:
    """The run crashed in its pull step with ``message`` in its logs, and Prefect never tried to
    load the flow (which would fail with a FileNotFoundError in the worker's temp dir)."""
    from prefect.client.orchestration import get_client

    run = flow_run(run_id)
    assert run.state.is_crashed(), f"{run.state}\n{worker_log.read_text(errors='replace')}"
    with get_client(sync_client=True) as client:
        states = [state.name for state in client.read_flow_run_states(run_id)]
    assert "Running" not in states, states
    logs = flow_run_logs(run_id, contains=message, timeout=30)
    assert message in logs, logs
    # (Prefect adds a warning that it has no flow for on_crashed hooks: its manifest is missing)
    assert [line for line in logs if "flow.py" in line] == [message]
    assert task_runs(run_id) == []


def test_a_checkout_that_is_gone_fails_the_run_at_once_naming_luisy_repo(deployed, tmp_path):
    from prefect.deployments import run_deployment

    gone = tmp_path / "moved-away"  # the checkout `prefect deploy` ran in, since moved
    run = run_deployment(_deploy_sales("gone", POOL, gone), timeout=90, poll_interval=1)
    _assert_ended_before_loading_the_flow(
        run.id, f"luisy cannot run {ENTRYPOINT}: the checkout it was deployed from ({gone}) "
                f"does not exist. {FIX.format(pool=POOL)}", deployed.worker_log)


def test_luisy_repo_without_the_entrypoint_fails_the_run_at_once(deployed, tmp_path):
    from prefect.deployments import run_deployment

    pool = "luisy-elsewhere"  # its own pool: this worker must not take the other tests' runs
    _cli(deployed.env, "work-pool", "create", pool, "--type", "process")
    elsewhere = tmp_path / "elsewhere"  # LUISY_REPO wins over the (good) recorded checkout
    elsewhere.mkdir()
    worker_log = tmp_path / "worker.log"
    with _worker(f"prefect worker start --pool '{pool}'",
                 {**deployed.env, "LUISY_REPO": str(elsewhere)}, worker_log):
        run = run_deployment(_deploy_sales("elsewhere", pool, REPO), timeout=90,
                             poll_interval=1)
    _assert_ended_before_loading_the_flow(
        run.id, f"luisy cannot run {ENTRYPOINT}: LUISY_REPO={elsewhere} has no "
                f"flows/sales/flow.py. {FIX.format(pool=pool)}", worker_log)


def test_luisy_cli_validates_deployments(tmp_path, capsys):
    from luisy import cli

    assert cli.main(["validate-deployments", os.path.join(REPO, "prefect.yaml")]) == 0
    assert capsys.readouterr().out.strip().endswith("prefect.yaml: ok")
    broken = tmp_path / "prefect.yaml"
    broken.write_text("deployments:\n  - name: x\n"
                      "    entrypoint: flows/sales/flow.py:sales_report\n"
                      "    work_pool: {name: p}\n    paramters: {}\n")
    assert cli.main(["validate-deployments", str(broken)]) == 1
    assert "paramters" in capsys.readouterr().out


# -------------------------------------------------------------- the docs, pasted into a shell
DOCS = REPO / "docs" / "prefect.md"
DOCS_HEADING = "### From nothing to a finished run"


def _docs_block() -> str:
    """The first ```bash block under the heading, as a reader would copy it."""
    section = DOCS.read_text().split(f"\n{DOCS_HEADING}\n", 1)[1]
    match = re.search(r"^```bash\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    assert match, f"no bash block under {DOCS_HEADING!r} in {DOCS}"
    return match.group(1)


def test_the_docs_from_nothing_to_a_finished_run_block_runs_verbatim(tmp_path):
    """The block in bash, from the root of a checkout, with nothing of Prefect's set up.

    The checkout is a copy (its prefect.yaml and flows/): the run writes its outputs under the
    checkout's data/ and must not touch this one's. The one change to the block is the port:
    Prefect's default (4200) may be taken by another server on this machine, so the block's
    ``127.0.0.1:4200`` becomes a free port, which ``prefect server start`` is given through
    PREFECT_SERVER_API_PORT, as a user would with ``--port``.
    """
    block = _docs_block()
    assert block.count("127.0.0.1:4200") == 1, block
    port = free_port()
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO / "flows", checkout / "flows",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PREFECT_YAML, checkout)
    env = {key: value for key, value in os.environ.items()  # nothing of this session's server
           if not key.startswith("PREFECT_") and key != "LUISY_REPO"}
    env.update(QUIET_ENV, PREFECT_HOME=str(tmp_path / "home"),
               PREFECT_SERVER_API_PORT=str(port),
               PATH=f"{PREFECT.parent}{os.pathsep}{env.get('PATH', '')}",  # an activated venv
               PREFECT_WORKER_QUERY_SECONDS="1")  # the worker polls every second, not every 10
    log = tmp_path / "block.log"
    with open(log, "wb") as out:
        shell = subprocess.Popen(["bash", "-c", block.replace("127.0.0.1:4200",
                                                              f"127.0.0.1:{port}")],
                                 cwd=checkout, env=env, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        try:  # the server and the worker it leaves running are in its process group
            with contextlib.suppress(subprocess.TimeoutExpired):  # the output says where
                shell.wait(timeout=300)
        finally:
            _stop_group(shell)
    output = log.read_text(errors="replace")
    assert "Flow run finished successfully in 'Completed'." in output, output[-6000:]
    assert shell.returncode == 0, output[-6000:]
    assert _printed_worker_command(output) in block  # the worker as `prefect deploy` says
    assert list((checkout / "data").iterdir())  # ran in the checkout it was deployed from
