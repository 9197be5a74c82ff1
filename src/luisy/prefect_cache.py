"""luisy's key as Prefect's cache key: a Prefect cache policy whose key is the luisy key.

Kept apart from :mod:`luisy.task_runs` so that planning and a no-op build never import
Prefect; only a build that starts task runs does.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from prefect.cache_policies import CachePolicy

if TYPE_CHECKING:
    from prefect.context import TaskRunContext


class Keyed(Protocol):
    """What a task run runs, as far as its key goes (a :class:`luisy.task_runs.RunUnit`)."""

    @property
    def cache_key(self) -> str: ...


@dataclass
class LuisyKey(CachePolicy):
    """Prefect's cache key of a luisy task run is its luisy key.

    It goes into the task run's own ``cache_key`` field (which Prefect 3's engine leaves
    empty) and is the key of the run's Prefect transaction. Whether the task runs is decided
    by luisy's ledger, never by Prefect's result store: the task is made with
    ``refresh_cache=True`` and without persisted results, so Prefect neither reads nor writes
    a record under the key.
    """

    unit_of: Callable[[dict[str, Any]], Keyed] | None = None

    def compute_key(self, task_ctx: TaskRunContext, inputs: dict[str, Any],
                    flow_parameters: dict[str, Any], **kwargs: Any) -> str | None:
        key = self.unit_of(inputs).cache_key  # type: ignore[misc]
        task_ctx.task_run.cache_key = key
        return key
