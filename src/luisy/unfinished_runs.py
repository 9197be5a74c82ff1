"""Flow runs whose build never told the server they ended: the next build marks them Crashed.

A build records its flow run in ``<working_dir>/.luisy-runs/<flow run id>.json`` (the server's
API URL, this host, this process) when it starts, and removes the record when it ends with
its server still answering. A build killed (``kill -9``, a machine going down) or one whose
server went away (:mod:`luisy.server_watch`) leaves its record, and its flow run stays
``RUNNING`` on the server, which never heard of its end: Prefect's own zombie detection needs
flow-run heartbeats and an automation the user sets up. So the next build on that working dir
whose server answers looks at the records left: a run of this host whose process is gone and
which the server still shows running is set ``Crashed``, saying why; its record goes.

Records of other hosts are left alone (their process cannot be looked at from here), and so
are those of other servers (this build's client talks to one).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from typing import Any

from luisy.targets.atomic import atomic_path

FOLDER = ".luisy-runs"
logger = logging.getLogger("luisy")


def _folder(working_dir: str) -> str:
    return os.path.join(working_dir, FOLDER)


def record(working_dir: str, flow_run_id: Any, api_url: str) -> str:
    """Record that this process runs ``flow_run_id``; the path of the record."""
    folder = _folder(working_dir)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{flow_run_id}.json")
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        json.dump({"api_url": api_url, "host": socket.gethostname(), "pid": os.getpid()}, fh)
    return path


def forget(path: str) -> None:
    """The run ended and its server heard of it (the folder goes with its last record)."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
    with contextlib.suppress(OSError):  # not empty: another build's record is in it
        os.rmdir(os.path.dirname(path))


def _gone(pid: int) -> bool:
    """Whether no process ``pid`` runs on this host (POSIX: signal 0 checks, sends nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False


def left_behind(working_dir: str, api_url: str) -> dict[str, str]:
    """Flow run id -> record path, for records of this server and host whose process is gone."""
    folder = _folder(working_dir)
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    host, found = socket.gethostname(), {}
    for name in names:
        path = os.path.join(folder, name)
        if not name.endswith(".json"):
            continue
        try:
            with open(path) as fh:
                entry = json.load(fh)
            mine = (entry.get("api_url") == api_url and entry.get("host") == host
                    and _gone(int(entry["pid"])))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            logger.warning("luisy: %s: not a record of a flow run; left alone", path)
            continue
        if mine:
            found[name[: -len(".json")]] = path
    return found


def mark_crashed(working_dir: str, api_url: str) -> list[str]:
    """Set the flow runs left behind by killed builds ``Crashed`` (those the server still
    shows running); the ids of those marked. Uses the current flow run's client."""
    if os.name != "posix":  # no portable look at another process without psutil
        return []
    found = left_behind(working_dir, api_url)
    if not found:
        return []
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Crashed

    client = get_client(sync_client=True)
    marked = []
    for run_id, path in found.items():
        try:
            run = client.read_flow_run(run_id)
            if run.state is not None and not run.state.is_final():
                client.set_flow_run_state(
                    run_id, Crashed(message="its build's process ended without finishing it "
                                            "(killed, or its Prefect server went away); "
                                            "marked by a later build"), force=True)
                marked.append(run_id)
        except ObjectNotFound:
            pass  # the server does not know it (its database was reset): nothing to settle
        except Exception as exc:  # a record that cannot be settled now is kept for later
            logger.warning("luisy: could not settle flow run %s left by a killed build: %s",
                           run_id, exc)
            continue
        forget(path)
    if marked:
        logger.warning("luisy: marked %d flow run(s) of killed builds Crashed: %s",
                       len(marked), ", ".join(marked))
    return marked
