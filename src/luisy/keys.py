"""Task keys: a Merkle hash over code, parameters and upstream keys.

``key(task) = sha256(family, fingerprint(class), significant parameters, keys of upstream)``,
so a code change in one task changes its key and, through the chain, the keys of everything
downstream, and nothing else.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

from luisy.config import Config
from luisy.fingerprint import Fingerprint
from luisy.hashstore import HashStore, HashStores
from luisy.tasks.base import Task


@dataclass(frozen=True)
class TaskKey:
    key: str
    fingerprint: Fingerprint
    params: dict[str, str]
    upstream: dict[str, str]

    def details(self) -> dict:
        return {"fingerprint": self.fingerprint.digest, "params": self.params,
                "upstream": self.upstream}

    def fingerprint_details(self) -> dict:
        return {"code": self.fingerprint.code, "libraries": self.fingerprint.libraries}


def compute_key(task: Task, fp: Fingerprint, upstream: dict[str, str]) -> TaskKey:
    params = task.to_str_params(only_significant=True)
    payload = json.dumps(
        [task.get_task_family(), fp.digest, params, sorted(upstream.values())],
        sort_keys=True, separators=(",", ":"),
    )
    return TaskKey(hashlib.sha256(payload.encode()).hexdigest(), fp, params, upstream)


def store_location(task: Task, stores: HashStores) -> tuple[HashStore, str] | None:
    """The hash store of the task's project and its output's path relative to the working dir.

    Tasks without an output (WrapperTask) are not recorded.
    """
    out = task.output()
    if out is None:
        return None
    working_dir = Config().working_dir
    folder = os.path.join(working_dir, task.get_project_name())
    return stores.for_folder(folder), os.path.relpath(out.path, working_dir)
