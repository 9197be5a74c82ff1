"""Task keys: a Merkle hash over code, parameters, upstream keys and data versions.

``key(task) = sha256(family, fingerprint(class), significant parameters, inputs)``, where an
input is an upstream task's key, mixed with its data version when it has one (an
ExternalTask's file, a table changed outside luisy; see :mod:`luisy.cache.data_version`),
and a table read by name stands by its version. So a code change in one task, or new data in
one input, changes the keys of what depends on it, through the chain, and nothing else. A
task without versioned inputs has the key luisy had before data versions (its *legacy* key).
These are pure functions of the graph, the code and the versions given: what is recorded on
disk is the store's business (:mod:`luisy.cache.store`).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from luisy.cache.data_version import input_id
from luisy.cache.fingerprint import Fingerprint, fingerprint
from luisy.cache.store import hash_key
from luisy.config import current
from luisy.tasks.base import Task


@dataclass(frozen=True)
class TaskKey:
    key: str
    fingerprint: Fingerprint
    params: dict[str, str]
    upstream: dict[str, str]
    #: the data versions in the key: upstream task id or input location -> version
    data: dict[str, str] = field(default_factory=dict)

    def details(self) -> dict:
        return {"fingerprint": self.fingerprint.digest, "params": self.params,
                "upstream": self.upstream, "data": self.data}

    def fingerprint_details(self) -> dict:
        return {"code": self.fingerprint.code, "libraries": self.fingerprint.libraries}


#: what ``json.dumps(..., sort_keys=True, separators=(",", ":"))`` builds on every call
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def compute_key(task: Task, fp: Fingerprint, upstream: dict[str, str],
                data: Mapping[str, str] | None = None) -> TaskKey:
    """``task``'s key from its fingerprint, its upstream tasks' keys (task id -> key) and the
    data versions of its inputs (upstream task id or input location -> version)."""
    params = task.to_str_params(only_significant=True)
    data = dict(data or {})
    inputs = [input_id(k, data.get(name)) for name, k in upstream.items()]
    inputs += [input_id(f"input:{name}", v) for name, v in data.items() if name not in upstream]
    payload = _ENCODER.encode([task.get_task_family(), fp.digest, params, sorted(inputs)])
    return TaskKey(hashlib.sha256(payload.encode()).hexdigest(), fp, params, upstream, data)


class KeyChain:
    """Keys of a graph's tasks, dependencies first, and their legacy keys when they differ.

    The legacy key (every data version left out) is what a store written before data versions
    holds: a recorded key equal to it, in a record of those days (see
    :func:`predates_data_versions`), means the output was made from the data there now, as
    far as anyone can tell, so it is adopted rather than rebuilt.
    """

    def __init__(self) -> None:
        self.keys: dict[Task, TaskKey] = {}
        self._fps: dict[type, Fingerprint] = {}
        #: legacy keys, only of tasks where it is not the key
        self._legacy: dict[Task, str] = {}

    def add(self, task: Task, deps: list[Task], data: Mapping[str, str] | None = None
            ) -> TaskKey:
        cls = type(task)
        fp = self._fps.get(cls) or self._fps.setdefault(cls, fingerprint(cls))
        key = self.keys[task] = compute_key(task, fp, {str(d): self.keys[d].key for d in deps},
                                            data)
        if key.data or any(d in self._legacy for d in deps):
            legacy = compute_key(task, fp, {str(d): self.legacy(d) for d in deps})
            self._legacy[task] = legacy.key
        return key

    def legacy(self, task: Task) -> str:
        return self._legacy.get(task) or self.keys[task].key


def predates_data_versions(details: Mapping[str, object] | None) -> bool:
    """Whether a record was written before keys held data versions (no ``data`` in its
    details): only then does its legacy key vouch for its output."""
    return details is None or "data" not in details


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
