"""Reading a Delta table's transaction log (``<table>/_delta_log``) without a Spark engine.

A table's version is the number of its latest commit; the files of one partition are the
``add`` actions for it that no later ``remove`` took back. Both come from the log alone: a
plan asks for them for every Delta input, and a query per table would cost a round trip to
the engine each (and the embedded engine has no ``DESCRIBE HISTORY``).

Commits are ``<version:020d>.json`` files of one action per line; a checkpoint
(``<version>.checkpoint[.<part>.<parts>].parquet``, named in ``_last_checkpoint``) holds the
table's state at its version, so the commits before it may be gone. See the Delta protocol,
https://github.com/delta-io/delta/blob/master/PROTOCOL.md.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

from luisy.errors import TargetError

LOG_DIR = "_delta_log"
_COMMIT = re.compile(r"(\d{20})\.json")
_CHECKPOINT = re.compile(r"(\d{20})\.checkpoint(?:\.\d{10}\.\d{10})?\.parquet")


def _names(table: str) -> list[str]:
    try:
        return os.listdir(os.path.join(table, LOG_DIR))
    except (FileNotFoundError, NotADirectoryError):
        return []


def log_version(table: str) -> int | None:
    """The version of the table's latest commit (or checkpoint); None: no table there."""
    versions = [int(m.group(1)) for name in _names(table)
                if (m := _COMMIT.fullmatch(name) or _CHECKPOINT.fullmatch(name))]
    return max(versions, default=None)


def partition_files(table: str, values: Mapping[str, Any]) -> list[str]:
    """The data files of the partition with these column values, as the latest version has
    them (sorted). Values compare as the log writes them: text (``true``, ``3``)."""
    wanted = {column: _as_log_text(value) for column, value in values.items()}
    active: dict[str, bool] = {}
    for kind, path, partition in _actions(table):
        if kind == "add":
            if all(partition.get(c) == v for c, v in wanted.items()):
                active[path] = True
        else:
            active.pop(path, None)
    return sorted(active)


def _as_log_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _actions(table: str) -> Iterator[tuple[str, str, dict]]:
    """``(add|remove, file path, partition values)`` of the table's state, oldest first."""
    names = _names(table)
    checkpoints = sorted({int(m.group(1)) for n in names if (m := _CHECKPOINT.fullmatch(n))})
    start = checkpoints[-1] if checkpoints else -1
    if start >= 0:
        parts = sorted(n for n in names if (m := _CHECKPOINT.fullmatch(n))
                       and int(m.group(1)) == start)
        for part in parts:
            yield from _checkpoint_actions(os.path.join(table, LOG_DIR, part))
    commits = sorted((int(m.group(1)), n) for n in names if (m := _COMMIT.fullmatch(n)))
    for version, name in commits:
        if version <= start:
            continue
        path = os.path.join(table, LOG_DIR, name)
        try:
            with open(path, encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        except OSError as exc:
            raise TargetError(f"cannot read the Delta log {path}: {exc}") from exc
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                action = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TargetError(f"the Delta log {path} line {number} is not JSON: "
                                  f"{exc.msg}") from exc
            for kind in ("add", "remove"):
                if isinstance(action.get(kind), dict):
                    entry = action[kind]
                    yield kind, entry.get("path", ""), entry.get("partitionValues") or {}


def _checkpoint_actions(path: str) -> Iterator[tuple[str, str, dict]]:
    try:
        import pyarrow.parquet as pq

        rows = pq.read_table(path, columns=["add"]).column("add").to_pylist()
    except Exception as exc:  # pyarrow missing, or a checkpoint layout it cannot read
        raise TargetError(f"cannot read the Delta checkpoint {path}: "
                          f"{type(exc).__name__}: {exc}") from exc
    for add in rows:
        if add:
            values = add.get("partitionValues") or {}
            if isinstance(values, list):  # a parquet map reads as (key, value) pairs
                values = dict(values)
            yield "add", add.get("path", ""), values
