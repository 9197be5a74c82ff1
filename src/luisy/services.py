"""What the task model asks of the layers above it, which it must not import.

The model (tasks, parameters, targets) is the bottom layer: planning, caching, pictures and
discovery are built on it, and the Spark engines beside it. A few of luisy 1.x's ``Task``
methods are answered up there: ``complete()`` and ``read()`` need the task's current key and
``write()`` records it (the cache), ``visualize()`` draws (visualize),
``get_related_instances()`` searches the disk (discovery), ``SparkTask.spark`` needs a session
(the Spark provider). ``Task`` calls them through :data:`provided`; ``luisy/__init__.py``,
the one place that wires the layers together, fills it when the package is imported (any
``import luisy.x`` imports the package first), so the arrows between modules only point down.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from luisy.errors import LuisyError


class Records(Protocol):
    """Which key a task's output holds (the cache's ledger). Tasks are typed ``Any`` here:
    this module sits below the task model, which calls it."""

    def is_current(self, task: Any) -> bool:
        """The output exists and holds the task's current key."""

    def written(self, task: Any, written: Any = None) -> None:
        """``task.write()`` just stored the task's output; ``written``: what the target's
        write knew of its bytes (:class:`luisy.targets.written.Written`, None: nothing)."""


@dataclass
class Services:
    records: Records | None = None
    visualize: Callable[..., Any] | None = None
    related_instances: Callable[..., list] | None = None
    #: the Spark session for SparkTasks and ``Config().spark`` (the Spark provider)
    spark_session: Callable[[], Any] | None = None
    describe_session: Callable[[Any], str] | None = None
    #: whether a session's engine sees a folder of this machine (Spark-written folders)
    shares_files: Callable[[Any, str], bool] | None = None
    #: ``task.download()`` and ``task.upload(overwrite)`` (cloud sync, luisy.remote)
    download: Callable[[Any], None] | None = None
    upload: Callable[[Any, bool], None] | None = None

    def need(self, name: str) -> Any:
        found = getattr(self, name)
        if found is None:
            raise LuisyError(f"luisy is not fully imported: no {name} service (import luisy)")
        return found


provided = Services()


def provide(**services: Any) -> None:
    """Fill in services (``luisy/__init__.py`` does, once, at import)."""
    for name, impl in services.items():
        if not hasattr(provided, name):
            raise LuisyError(f"no such service: {name}")
        setattr(provided, name, impl)
