"""Where log lines go: into the Prefect run when inside one, else a plain ``luisy`` logger."""
from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def task_logger(family: str) -> logging.Logger | logging.LoggerAdapter:
    """Prefect's run logger inside a run (its lines show in the UI), else ``luisy.<Family>``."""
    if "prefect.context" in sys.modules:
        from prefect.context import FlowRunContext, TaskRunContext
        from prefect.logging import get_run_logger

        if TaskRunContext.get() or FlowRunContext.get():
            return get_run_logger()
    return logging.getLogger(f"luisy.{family}")


def _console_handlers() -> list[logging.Handler]:
    from prefect.logging.configuration import setup_logging
    from prefect.logging.handlers import PrefectConsoleHandler

    setup_logging()
    names = [n for n in logging.root.manager.loggerDict if n.startswith("prefect")]
    return [handler for logger in [logging.getLogger(), *map(logging.getLogger, names)]
            for handler in logger.handlers if isinstance(handler, PrefectConsoleHandler)]


def quiet_prefect_console() -> None:
    """Keep Prefect's console lines (server start/stop, per-run state lines) off the terminal.

    Only console handlers are raised to WARNING; the API handler still ships every run log to
    the server, so the UI keeps the full story.
    """
    for handler in _console_handlers():
        handler.setLevel(max(handler.level, logging.WARNING))


@contextmanager
def prefect_console_quiet() -> Iterator[None]:
    """:func:`quiet_prefect_console` for the code inside; the levels are restored after."""
    handlers = _console_handlers()
    levels = [h.level for h in handlers]
    quiet_prefect_console()
    try:
        yield
    finally:
        for handler, level in zip(handlers, levels, strict=True):
            handler.setLevel(level)
