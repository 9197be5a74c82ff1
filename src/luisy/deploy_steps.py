"""Deployment steps for ``prefect.yaml``: flow runs execute in the checkout that was deployed.

A deployment of a ``flows/*/flow.py`` names its entrypoint relative to the directory
``prefect deploy`` ran in, and a worker runs the flow in a temporary directory of its own. So the
flow-run process must change into a checkout of the project first, or loading the entrypoint fails
with a ``FileNotFoundError`` about ``/tmp/tmp...prefect/flows/...`` that says nothing about why.

- :func:`checkout_directory`, a *build* step, runs when ``prefect deploy`` runs; Prefect templates
  its output into the pull steps (``{{ checkout.directory }}``), so the deployment remembers where
  it was deployed from and ``prefect worker start --pool ...``, as ``prefect deploy`` prints it,
  runs it there.
- :func:`enter_checkout`, the *pull* step, changes into ``$LUISY_REPO`` when the worker has it (a
  checkout elsewhere, e.g. on another machine), else into the recorded directory, and fails the
  run at once, in one line naming ``LUISY_REPO``, when the entrypoint is not there.
"""
from __future__ import annotations

import os
from uuid import UUID

from luisy.errors import ConfigError, UsageError

#: the worker's environment variable that names the checkout to run flows in, overriding the
#: directory ``prefect deploy`` ran in
CHECKOUT_ENV = "LUISY_REPO"


def checkout_directory() -> dict[str, str]:
    """Build step: the directory ``prefect deploy`` runs in, as ``{"directory": ...}``.

    That is the directory the deployments' entrypoints are relative to (Prefect loads them from
    there to deploy them), so it is the checkout the flow runs need.
    """
    return {"directory": os.getcwd()}


def enter_checkout(directory: str) -> dict[str, str]:
    """Pull step: change into ``$LUISY_REPO`` if set, else into ``directory``; return it.

    The run's entrypoint file must be there. If not, the error is logged to the flow run (the
    worker's state message only says that the process exited) and raised, so the run ends before
    Prefect tries to load the flow from the worker's temporary directory.
    """
    flow_run_id = os.environ.get("PREFECT__FLOW_RUN_ID")
    if not flow_run_id:
        raise UsageError("luisy.deploy_steps.enter_checkout is a pull step: it runs in a flow "
                         "run that a worker started (PREFECT__FLOW_RUN_ID is not set)")
    entrypoint, pool = _deployment_of(UUID(flow_run_id))
    override = os.environ.get(CHECKOUT_ENV)
    path = os.path.abspath(override or directory)
    file, has_file, _ = entrypoint.rpartition(":")  # a module path (no ':') has no file
    if not os.path.isdir(path):
        problem = "does not exist"
    elif has_file and not os.path.isfile(os.path.join(path, file)):
        problem = f"has no {file}"
    else:
        os.chdir(path)
        return {"directory": os.getcwd()}
    where = (f"{CHECKOUT_ENV}={override}" if override
             else f"the checkout it was deployed from ({path})")
    message = (f"luisy cannot run {entrypoint}: {where} {problem}. Set {CHECKOUT_ENV} to the "
               f"checkout to run it in where the worker starts: {CHECKOUT_ENV}=/path/to/checkout "
               f"prefect worker start --pool '{pool}'")
    from prefect.logging.loggers import flow_run_logger

    flow_run_logger(flow_run_id=UUID(flow_run_id)).error(message)
    raise ConfigError(message)


def _deployment_of(flow_run_id: UUID) -> tuple[str, str | None]:
    """Entrypoint and work pool of the flow run's deployment: a pull step is not told them."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
        deployment = client.read_deployment(run.deployment_id)
    return deployment.entrypoint or "", deployment.work_pool_name
