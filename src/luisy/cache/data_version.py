"""Data versions: what data from outside the graph holds now, so that reruns follow it.

A key says what code and parameters made an output; data delivered by another system (an
ExternalTask's file or folder, a Delta table a task reads by name, a table someone rewrote
behind luisy's back) changes without any code changing. So each such input gets a *data
version*, and a consumer's key hashes its inputs' versions along with their keys (see
:func:`input_id`): a changed input reruns exactly what reads it, and everything below through
the Merkle chain; an unchanged one costs a ``stat``.

How an input is versioned is chosen per task class (:func:`luisy.data_version`):

- ``content`` (default): a file's sha256; a folder's digest over its files' paths and sha256s.
  What was read is kept in the ExternalTask's record (size, mtime, version per file), so a
  file is read again only when its size or mtime changed: a ``touch`` costs one read and
  reruns nothing;
- ``mtime``: size and mtime only (no read; a touch reruns);
- a function of the task: its result is the version (a row count, a marker file's text);
- ``none``: no version, luisy 1.x's behaviour: reruns follow code only.

Targets that know their own version say it (:meth:`~luisy.targets.base.Target.data_version`:
a Delta table's log version, a pinned ``version_as_of``); targets that can tell neither
(remote blobs) have none.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from luisy.cache.content import checksum, digest_of_parts, file_digest, files_below
from luisy.errors import DataVersionError, LuisyError, TargetError
from luisy.targets.base import Target
from luisy.tasks.base import ExternalTask, Task

#: in an input's record: its version, and what was read to get it (the stat cache)
VERSION_FIELD = "data_version"
SOURCE_FIELD = "source"


@dataclass(frozen=True)
class Observed:
    """An input's data version now (None: it has none), and what to keep so that the next
    plan need not read it again (None: nothing worth keeping)."""

    version: str | None
    source: dict | None = None


NONE = Observed(None)


def mode_of(task: Task) -> str | Callable[[Task], Any]:
    """The task class's choice (``@luisy.data_version``): a mode's name or a function."""
    return type(task).data_version_mode


def input_id(key: str, version: str | None) -> str:
    """What stands for an input in a consumer's key: its key, with its data version when it
    has one (so the consumer's key changes when either does)."""
    if version is None:
        return key
    return hashlib.sha256(f"{key}\0{version}".encode()).hexdigest()


def observe(task: Task, target: Target, previous: Mapping[str, Any] | None = None) -> Observed:
    """The data version of ``task``'s input ``target`` now, after the task class's mode.

    ``previous`` is what was recorded when it was last observed (its record's details): a
    file whose size and mtime are what they were keeps its version unread.
    """
    mode = mode_of(task)
    if mode == "none":
        return NONE
    if callable(mode):
        try:
            value = mode(task)
        except LuisyError:
            raise
        except Exception as exc:
            raise DataVersionError(f"{task}: its data_version function failed: "
                                   f"{type(exc).__name__}: {exc}") from exc
        return NONE if value is None else Observed(f"fn:{value!r}")
    own = target.data_version()
    if own is not None:
        return Observed(own)
    if target.folder() is None:  # neither a local file nor a table that knows its version
        return NONE
    old = (previous or {}).get(SOURCE_FIELD) or {}
    path = target.path
    try:
        if os.path.isdir(path):
            return _folder(path, mode, old)
        return _file(path, mode, old)
    except FileNotFoundError:
        return NONE
    except OSError as exc:
        raise TargetError(f"cannot read {target.location} to version it: "
                          f"{type(exc).__name__}: {exc}") from exc


def _stat(path: str) -> list[int]:
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


def _file(path: str, mode: object, old: Mapping[str, Any]) -> Observed:
    stat = _stat(path)
    if mode == "mtime":
        return Observed(f"mtime:{stat[0]}:{stat[1]}")
    if old.get("stat") == stat and isinstance(old.get("version"), str):
        return Observed(old["version"], dict(old))
    version = checksum(file_digest(path))
    return Observed(version, {"stat": stat, "version": version})


def _folder(path: str, mode: object, old: Mapping[str, Any]) -> Observed:
    """Over the folder's files: each read again only when its size or mtime changed."""
    known = old.get("files") if isinstance(old.get("files"), dict) else {}
    files: dict[str, list] = {}
    for rel, full in files_below(path):
        stat = _stat(full)
        if mode == "mtime":
            files[rel] = [*stat, ""]
            continue
        seen = known.get(rel)
        same = isinstance(seen, list) and len(seen) == 3 and seen[:2] == stat
        files[rel] = seen if same else [*stat, file_digest(full)]
    if mode == "mtime":
        parts = ((rel, f"{s}:{m}") for rel, (s, m, _) in files.items())
        return Observed(f"mtime:{digest_of_parts(parts)}")
    version = checksum(digest_of_parts((rel, f[2]) for rel, f in files.items()))
    return Observed(version, {"files": files, "version": version})


def keeps_version(target: Target) -> bool:
    """Whether the target says its own version (a table); checked on the class, as a plan
    asks it of every output."""
    return type(target).data_version is not Target.data_version


def output_version(task: Task, target: Target | None,
                   details: Callable[[], Mapping[str, Any] | None],
                   current: Callable[[], bool]) -> Observed:
    """What ``task``'s output ``target`` stands for in its consumers' keys, besides its key.

    An ExternalTask's output: its data version now (``details``: its record, for the stat
    cache). A task's own output: nothing, unless it is ``current`` (its recorded key is its
    key, its output there) and its version now differs from the one recorded when it was
    written (a Delta table rewritten outside luisy): then that version, so that its consumers
    rerun while it does not. ``details`` and ``current`` are asked only when needed: local
    outputs of tasks need neither.
    """
    if target is None or mode_of(task) == "none":
        return NONE
    if isinstance(task, ExternalTask):
        return observe(task, target, details())
    if not keeps_version(target):
        return NONE
    recorded = (details() or {}).get(VERSION_FIELD)
    if recorded is None or not current():
        return NONE
    now = target.data_version()
    return NONE if now is None or now == recorded else Observed(now)


def written_version(task: Task, target: Target) -> str | None:
    """The version of an output a run of ``task`` just wrote, to be recorded with its key: a
    table's (a local file is checksummed instead, see :mod:`luisy.cache.content`)."""
    if not keeps_version(target) or mode_of(task) == "none":
        return None
    try:
        return target.data_version()
    except LuisyError:  # the output is written; only changes made outside go unnoticed
        return None


def data_of(task: Task, deps: Iterable[Task], outputs: Mapping[Task, Observed]
            ) -> dict[str, str]:
    """The data versions in ``task``'s key: its dependencies' (``outputs``, see
    :func:`output_version`), by task id, and those of the tables it reads by name, by
    location."""
    data = {str(d): o.version for d in deps
            if (o := outputs.get(d)) is not None and o.version is not None}
    for target in task.external_inputs():
        version = observe(task, target).version
        if version is not None:
            data[target.location] = version
    return data


def recorded_fields(observed: Observed) -> dict:
    """The fields a record keeps of the version ``observed`` (and its stat cache)."""
    extra = {VERSION_FIELD: observed.version, SOURCE_FIELD: observed.source}
    return {k: v for k, v in extra.items() if v is not None}


def differs(details: Mapping[str, Any] | None, observed: Observed) -> bool:
    """Whether a record's ``details`` keep another version (or stat cache) than observed."""
    details = details or {}
    return (details.get(VERSION_FIELD) != observed.version
            or details.get(SOURCE_FIELD) != observed.source)
