"""Outputs as Prefect assets: each output a task run writes is materialised from its inputs.

An asset's key is its target's URI (``file:///.../CleanSales_2024-01.parquet``,
``delta://main.sales.clean/month=2024-01``, ``abfs://...``), with the characters Prefect
refuses in asset keys (spaces, ``%``, ``[`` ...) replaced by ``_``.

When a task's run ends, luisy sends Prefect's asset events for it: one
``prefect.asset.materialization.succeeded`` (or ``.failed``) per output, whose related
resources are every input it read (role ``asset``) and ``luisy`` (role
``asset-materialized-by``), and whose payload names the task and its luisy key; and
``prefect.asset.referenced`` for its external inputs, the data luisy never materialises.
Prefect's own materialising tasks send a ``referenced`` event for every upstream asset of every
run; luisy leaves those out for outputs of other tasks, which have their materialisation event
(a fan-in of 3,000 would send 3,000 more events, each a cost on client and server). Members of a
grouped task run each get their own events. A download (cloud sync) sends none, as Prefect's
``Cached`` runs send none: the build that computed the output sent them.
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


def emit_materialisation(task: Task, output: str | None, luisy_key: str,
                         inputs: Sequence[str], external: Sequence[str], ok: bool) -> None:
    """The asset events of one task's run (none for a task without output)."""
    from prefect.events import emit_event
    from prefect.settings import PREFECT_EVENTS_MAXIMUM_RELATED_RESOURCES

    if output is None:
        return
    for key in external:
        emit_event(event="prefect.asset.referenced", resource={"prefect.resource.id": key})
    # an event may name so many related resources (100): a fan-in names the first ones, and
    # says in its payload how many inputs it had
    shown = inputs[:PREFECT_EVENTS_MAXIMUM_RELATED_RESOURCES.value() - 1]
    related = [{"prefect.resource.id": key, "prefect.resource.role": "asset"} for key in shown]
    related.append({"prefect.resource.id": "luisy",
                    "prefect.resource.role": "asset-materialized-by"})
    payload = {"task": str(task), "luisy_key": luisy_key}
    if len(shown) < len(inputs):
        payload["inputs"] = len(inputs)
    emit_event(event=f"prefect.asset.materialization.{'succeeded' if ok else 'failed'}",
               resource={"prefect.resource.id": output}, related=related, payload=payload)
