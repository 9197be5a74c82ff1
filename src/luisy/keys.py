"""Task keys: a Merkle hash over code, parameters and upstream keys.

``key(task) = sha256(family, fingerprint(class), significant parameters, keys of upstream)``,
so a code change in one task changes its key and, through the chain, the keys of everything
downstream, and nothing else.
"""
from __future__ import annotations

import functools
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


#: what ``json.dumps(..., sort_keys=True, separators=(",", ":"))`` builds on every call
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def compute_key(task: Task, fp: Fingerprint, upstream: dict[str, str]) -> TaskKey:
    params = task.to_str_params(only_significant=True)
    payload = _ENCODER.encode(
        [task.get_task_family(), fp.digest, params, sorted(upstream.values())])
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
    return stores.for_folder(folder), _relpath(out.path, working_dir)


@functools.lru_cache(maxsize=64)
def _normpath(path: str) -> str:
    return os.path.normpath(path)


def _relpath(path: str, start: str) -> str:
    """``os.path.relpath(path, start)``, without its list work for a path inside ``start``."""
    # an absolute start is normalised once; a relative one depends on the current directory
    base = _normpath(start) if os.path.isabs(start) else os.path.abspath(start)
    full = os.path.abspath(path)
    if full.startswith(base) and full[len(base):len(base) + 1] == os.sep and base != os.sep:
        return full[len(base) + 1:]
    return os.path.relpath(full, base)
