"""Where log lines go: into the Prefect run when inside one, else a plain ``luisy`` logger."""
from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any


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


# ------------------------------------------------------------------ what tasks print()
class _TaskPrints:
    """One task run's printed text on its way into the run's logs, a line at a time."""

    def __init__(self) -> None:
        self.pending = ""

    def feed(self, text: str) -> None:
        self.pending += text
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            self.ship(line)

    def ship(self, line: str) -> None:
        """To the Prefect API only: the console has the line already, as printed."""
        from prefect.logging import get_run_logger
        from prefect.logging.handlers import APILogHandler

        adapter = get_run_logger()
        base = adapter.logger
        _, kwargs = adapter.process(line, {})
        record = base.makeRecord(base.name, logging.INFO, "print", 0, line, (), None,
                                 extra=kwargs["extra"])
        logger: logging.Logger | None = base
        while logger is not None:
            for handler in logger.handlers:
                if isinstance(handler, APILogHandler):
                    handler.handle(record)
            logger = logger.parent if logger.propagate else None


_PRINTS: ContextVar[_TaskPrints | None] = ContextVar("luisy_prints", default=None)


class _Tee:
    """``sys.stdout`` while task runs run: what a task prints goes to the terminal, as in
    luisy 1.x, and into its run's logs (the UI). Prefect's ``log_prints`` would send it to the
    logs only, where a quiet console (the CLI) hides it."""

    def __init__(self, stream: Any):
        self.stream = stream

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        prints = _PRINTS.get()
        if prints is not None:
            prints.feed(text)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


_tee_lock = threading.Lock()
_tee_users = 0


@contextmanager
def task_prints() -> Iterator[None]:
    """What the code inside prints reaches the terminal and the current task run's logs.
    ``sys.stdout`` is itself again when the last task run in the process ends."""
    global _tee_users
    with _tee_lock:
        if _tee_users == 0:
            sys.stdout = _Tee(sys.stdout)
        _tee_users += 1
    prints = _TaskPrints()
    token = _PRINTS.set(prints)
    try:
        yield
    finally:
        _PRINTS.reset(token)
        if prints.pending:
            prints.ship(prints.pending)
        with _tee_lock:
            _tee_users -= 1
            if _tee_users == 0 and isinstance(sys.stdout, _Tee):
                sys.stdout = sys.stdout.stream
