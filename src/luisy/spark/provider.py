"""The one place SparkTasks and Spark targets get their session from.

:func:`get_spark` resolves, first hit wins, so that a session the user set up is never replaced
by one luisy makes:

1. the ``spark`` setting of the build (``build(..., spark=s)``, or ``Config().set_param('spark',
   s)`` as in luisy 1.x);
2. a session the user already started in this process: the thread's active one, else the
   process default (Prefect runs tasks in worker threads, where no session is "active");
3. the Prefect block named by the ``spark_block`` setting
   (:class:`~luisy.spark.block.SparkSessionBlock`), its session kept per block name;
4. the embedded engine (:func:`~luisy.spark.session.embedded_session`).
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from luisy.config import current
from luisy.spark.errors import SparkSessionError, short_message
from luisy.spark.session import active_session, embedded_session, is_usable

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_LOCK = threading.Lock()
#: sessions of blocks, by block name: a connection is made once per process and block
_BLOCK_SESSIONS: dict[str, Any] = {}


def get_spark() -> SparkSession:
    """The Spark session for SparkTasks and Spark targets (see the module doc for the order)."""
    settings = current()
    configured = settings.get_param("spark")
    if configured is not None:
        return _as_session(configured)
    user_session = active_session()
    if user_session is not None:
        return user_session
    block_name = settings.get_param("spark_block")
    if block_name:
        return block_session(block_name)
    return embedded_session()


def _as_session(configured: Any) -> SparkSession:
    """The configured session; a classic ``SparkContext`` set there (luisy 1.x's tutorial
    did) stands for the session on it, as 1.x took it."""
    if type(configured).__name__ == "SparkContext" and hasattr(configured, "_jsc"):
        from pyspark.sql import SparkSession

        return SparkSession.builder.getOrCreate()
    return configured


def block_session(name: str) -> SparkSession:
    """The session of the Prefect block ``name`` (``my-block`` or ``spark-session/my-block``)."""
    with _LOCK:
        session = _BLOCK_SESSIONS.get(name)
        if is_usable(session):
            return session
        from luisy.spark.block import SparkSessionBlock  # imports Prefect: only for blocks

        slug = SparkSessionBlock.get_block_type_slug()
        try:  # the subclass' load() takes the bare name only
            block = SparkSessionBlock.load(name.removeprefix(f"{slug}/"))
        except ValueError as exc:
            raise SparkSessionError(
                f"Setting 'spark_block' names the Prefect block {name!r}, which could not be "
                f"loaded: {short_message(exc)}") from None
        session = block.get_session()
        _BLOCK_SESSIONS[name] = session
        return session
