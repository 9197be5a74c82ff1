"""Outputs as Prefect assets: each output a task run writes is materialised from its inputs.

An asset's key is its target's URI (``file:///.../CleanSales_2024-01.parquet``,
``delta://main.sales.clean/month=2024-01``, ``abfs://...``), with the characters Prefect
refuses in asset keys (spaces, ``%``, ``[`` ...) replaced by ``_``. The task run's asset
context gets the outputs as its materialised assets and the task's inputs (complete or not,
external data too) as their upstream, so Prefect emits ``prefect.asset.materialization.*``
and ``prefect.asset.referenced`` events for what was produced from what when the run ends.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from luisy.tasks.base import Task

#: what Prefect's asset keys may not contain (prefect.types.names.RESTRICTED_ASSET_CHARACTERS)
_RESTRICTED = re.compile(r"""[\s#?&%"'<>\[\]{}|\\^`\x00]""")
_MAX_KEY = 512  # Prefect's MAX_ASSET_KEY_LENGTH


def asset_key(task: Task) -> str | None:
    """The Prefect asset key of ``task``'s output (None: it has no output)."""
    target = task.output()
    if target is None:
        return None
    uri = target.uri
    key = _RESTRICTED.sub("_", uri)
    if len(key) > _MAX_KEY:  # keep it unique: the head, then a digest of the whole
        key = key[:_MAX_KEY - 17] + "~" + hashlib.sha256(uri.encode()).hexdigest()[:16]
    return key


def materialise(tasks: Sequence[Task], outputs: Sequence[str | None], keys: Sequence[str],
                inputs: Sequence[str]) -> None:
    """Declare the outputs of ``tasks`` (asset keys, luisy keys) as the assets the current
    task run materialises, from its ``inputs`` (asset keys).

    Prefect emits the events when the task run ends: ``succeeded`` when it completes,
    ``failed`` when it fails, none when it ends Cached (nothing was written).
    """
    from prefect.assets import Asset
    from prefect.context import AssetContext

    context = AssetContext.get()
    made = [(key, task, luisy_key) for key, task, luisy_key
            in zip(outputs, tasks, keys, strict=True) if key]
    if context is None or not made:
        return
    context.downstream_assets = {Asset(key=key) for key, _, _ in made}
    context.upstream_assets = {Asset(key=key) for key in inputs}
    context.materialized_by = "luisy"
    for key, task, luisy_key in made:
        context.materialization_metadata[key] = {"task": str(task), "luisy_key": luisy_key}
    context.update_tracked_assets()
