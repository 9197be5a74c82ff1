"""Task keys: a Merkle hash over code, parameters and upstream keys.

``key(task) = sha256(family, fingerprint(class), significant parameters, keys of upstream)``,
so a code change in one task changes its key and, through the chain, the keys of everything
downstream, and nothing else. These are pure functions of the task graph and the code: what
is recorded on disk is the store's business (:mod:`luisy.cache.store`).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass

from luisy.cache.fingerprint import Fingerprint, fingerprint
from luisy.cache.store import hash_key
from luisy.config import current
from luisy.graph import TaskGraph, build_graph
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


def graph_keys(graph: TaskGraph) -> dict[Task, TaskKey]:
    """The key of every task of ``graph``, dependencies first (one fingerprint per class)."""
    fps: dict[type, Fingerprint] = {}
    keys: dict[Task, TaskKey] = {}
    for task, deps in graph.deps.items():
        cls = type(task)
        fp = fps.get(cls) or fps.setdefault(cls, fingerprint(cls))
        keys[task] = compute_key(task, fp, {str(d): keys[d].key for d in deps})
    return keys


def current_key(task: Task) -> TaskKey:
    """The key ``task`` has now (its graph walked, its classes fingerprinted)."""
    return graph_keys(build_graph(task))[task]


@functools.lru_cache(maxsize=64)
def _normpath(path: str) -> str:
    return os.path.normpath(path)


def output_place(task: Task) -> tuple[str, str] | None:
    """The folder of the task's hash store and its output's path relative to the working dir
    (the key of ``.luisy.hash``); None for tasks without an output (WrapperTask)."""
    out = task.output()
    if out is None:
        return None
    working_dir = current().working_dir
    return os.path.join(working_dir, task.get_project_name()), hash_key(
        _relpath(out.path, working_dir))



def _relpath(path: str, start: str) -> str:
    """``os.path.relpath(path, start)``, without its list work for a path inside ``start``."""
    # an absolute start is normalised once; a relative one depends on the current directory
    base = _normpath(start) if os.path.isabs(start) else os.path.abspath(start)
    full = os.path.abspath(path)
    if full.startswith(base) and full[len(base):len(base) + 1] == os.sep and base != os.sep:
        return full[len(base) + 1:]
    return os.path.relpath(full, base)
