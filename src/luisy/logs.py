"""Where log lines go: into the Prefect run when inside one, else a plain ``luisy`` logger."""
from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from luisy.tasks.base import Task


def task_logger(task: Task) -> logging.Logger | logging.LoggerAdapter:
    """Prefect's run logger inside a run (its lines show in the UI), else ``luisy.<Family>``."""
    if "prefect.context" in sys.modules:
        from prefect.context import FlowRunContext, TaskRunContext
        from prefect.logging import get_run_logger

        if TaskRunContext.get() or FlowRunContext.get():
            return get_run_logger()
    return logging.getLogger(f"luisy.{task.get_task_family()}")


def quiet_prefect_console() -> None:
    """Keep Prefect's console lines (server start/stop, per-run state lines) off the terminal.

    Only console handlers are raised to WARNING, for the rest of the process (the temporary
    server says goodbye at exit); the API handler still ships every run log to the server, so
    the UI keeps the full story.
    """
    from prefect.logging.configuration import setup_logging
    from prefect.logging.handlers import PrefectConsoleHandler

    setup_logging()
    names = [n for n in logging.root.manager.loggerDict if n.startswith("prefect")]
    for logger in [logging.getLogger(), *map(logging.getLogger, names)]:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.setLevel(max(handler.level, logging.WARNING))
