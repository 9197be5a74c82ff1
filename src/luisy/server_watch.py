"""A build that outlives its Prefect server ends soon, with one line naming the server.

Prefect keeps running task runs when its server goes away (their states travel as events), but
everything that reports to the server then waits: each API call retries for about a minute
(``PREFECT_CLIENT_MAX_RETRIES`` with exponential back-off), each queued event tries to
reconnect for ~7 s, one after the other, when the process exits. A build of 15 tasks waited
minutes. So a build watches its server (:class:`ServerWatch`, one ``GET /health`` a second
from a thread), and when it stops answering for :data:`GRACE` seconds:

- the scheduler submits nothing more; the tasks already running finish, and their outputs and
  keys are committed as usual (so the next build finds them complete);
- the build's own Prefect settings (:func:`own_client_settings`, a copy made for this build)
  stop retrying, so the flow run's last API calls fail at once;
- the events and logs still queued for the server are dropped (:func:`abandon_reports`): they
  cannot be delivered, and waiting for them is what took minutes.

The flow run stays ``RUNNING`` on the server, which never heard of its end: the next build
that meets it marks it ``Crashed`` (:mod:`luisy.unfinished_runs`).
"""
from __future__ import annotations

import contextlib
import contextvars
import http.client
import logging
import queue
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

#: seconds a server that refuses connections (it is gone) is given before a build gives it up
GRACE = 5.0
#: seconds without any answer (a server that hangs, or one too busy to answer) before that
PATIENCE = 20.0
#: seconds between two looks
INTERVAL = 1.0

class ServerWatch:
    """Looks at the server at ``api_url`` from a thread; when it is lost, this build's API
    calls stop retrying (:func:`stop_retrying`) and every callback given to :meth:`on_lost`
    is called with the line that says so."""

    def __init__(self, api_url: str, grace: float = GRACE, patience: float = PATIENCE,
                 interval: float = INTERVAL):
        self.api_url = api_url.rstrip("/")
        self.grace, self.patience, self.interval = grace, patience, interval
        #: the line that says the server was lost (None while it answers)
        self.lost: str | None = None
        self._callbacks: list[Callable[[str], None]] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def on_lost(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(message)`` when the server is lost (now, if it is already)."""
        with self._lock:
            lost = self.lost
            if lost is None:
                self._callbacks.append(callback)
        if lost is not None:
            callback(lost)

    def start(self) -> None:
        """Watch from a thread, in this context (so it stops this build's retries)."""
        context = contextvars.copy_context()
        threading.Thread(target=context.run, args=(self._watch,), name="luisy-server-watch",
                         daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def _watch(self) -> None:
        last_answer = time.monotonic()
        while not self._stopped.wait(self.interval):
            problem, refused = answers(self.api_url, timeout=min(self.patience / 2, 5.0))
            silent = time.monotonic() - last_answer
            if problem is None:
                last_answer = time.monotonic()
            elif silent >= (self.grace if refused else self.patience):
                self._lose(f"the Prefect server at {self.api_url} stopped answering "
                           f"({problem}); nothing more was started, the outputs made are "
                           "kept: build again when it is back")
                return

    def _lose(self, message: str) -> None:
        stop_retrying()
        with self._lock:
            self.lost = message
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(message)


#: the watch of the build running in this context (:func:`watching`)
_WATCH: contextvars.ContextVar[ServerWatch | None] = contextvars.ContextVar(
    "luisy_server_watch", default=None)


@contextlib.contextmanager
def watching() -> Iterator[ServerWatch | None]:
    """The watch of this build's Prefect server: the one already running in this context
    (a build's flow run inside ``build()``), else a new one for the duration; None when
    Prefect has no API URL (a temporary server of this process's own)."""
    from prefect.settings import PREFECT_API_URL

    watch = _WATCH.get()
    if watch is not None:
        yield watch
        return
    api_url = PREFECT_API_URL.value()
    if not api_url:
        yield None
        return
    watch = ServerWatch(api_url)
    token = _WATCH.set(watch)
    watch.start()
    try:
        yield watch
    finally:
        watch.stop()
        _WATCH.reset(token)


def answers(api_url: str, timeout: float) -> tuple[str | None, bool]:
    """What went wrong asking the server at ``api_url`` for ``/health`` (None: it answered),
    and whether it refused: nothing listens there, or the connection was cut.

    Any HTTP answer counts (Prefect Cloud may answer 401 or 404 there): the question is
    whether the server is reachable, not whether this endpoint exists. ``http.client``, not
    httpx: one request a second needs no pool, and making an httpx client loads the TLS
    certificates (~0.1 s of CPU) even for ``http://``.
    """
    url = urllib.parse.urlsplit(f"{api_url}/health")
    connection_type = (http.client.HTTPSConnection if url.scheme == "https"
                       else http.client.HTTPConnection)
    connection = connection_type(url.netloc, timeout=timeout)
    try:
        connection.request("GET", url.path)
        connection.getresponse().read()
        return None, False
    except (OSError, http.client.HTTPException) as exc:
        refused = isinstance(exc, (ConnectionError, http.client.RemoteDisconnected))
        return (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__), refused
    finally:
        connection.close()


#: the copy of Prefect's settings this build's calls run under (:func:`own_client_settings`)
_OWN_SETTINGS: contextvars.ContextVar[Any] = contextvars.ContextVar("luisy_client_settings",
                                                                   default=None)


@contextlib.contextmanager
def own_client_settings() -> Iterator[None]:
    """Run this build's Prefect calls under its own copy of Prefect's settings (client
    settings copied: 0.2 ms), so that :func:`stop_retrying` changes them for this build only."""
    from prefect.context import SettingsContext, get_settings_context

    context = get_settings_context()
    settings = context.settings
    own = settings.model_copy(update={"client": settings.client.model_copy()})
    token = _OWN_SETTINGS.set(own)
    try:
        with SettingsContext(profile=context.profile, settings=own):
            yield
    finally:
        _OWN_SETTINGS.reset(token)


def stop_retrying() -> None:
    """This build's API calls fail at once from now on (if it has its own settings: a flow
    run started by a deployment keeps its process's)."""
    own = _OWN_SETTINGS.get()
    if own is not None:
        own.client.max_retries = 0


def abandon_reports(timeout: float = 5.0) -> int:
    """Give up the events and logs still to be sent to a server that is gone; how many.

    Prefect has no public way to: at exit its event worker would try each queued event for
    ~7 s, its log worker each batch for a minute, one after the other. So each of their
    services (``QueueService``: ``_queue``, ``_task``, ``_loop``, ``_done_event`` are its
    own) is emptied and its task cancelled, which ends it as a failure of its own would (the
    next event or log starts a new one, as Prefect does then), and this waits until they
    ended. Their "failed" line, which only says they were given up, is left out meanwhile.
    """
    import asyncio
    import concurrent.futures

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    dropped, ending = 0, []
    quiet = _GivenUp()
    logging.getLogger("prefect._internal.concurrency").addFilter(quiet)
    try:
        for service in (EventsWorker, APILogWorker):
            for worker in list(getattr(service, "_instances", {}).values()):
                dropped += _empty(getattr(worker, "_queue", None))
                task, loop = getattr(worker, "_task", None), getattr(worker, "_loop", None)
                done = getattr(worker, "_done_event", None)
                if task is not None and loop is not None and done is not None:
                    loop.call_soon_threadsafe(task.cancel)
                    ending.append(asyncio.run_coroutine_threadsafe(done.wait(), loop))
        concurrent.futures.wait(ending, timeout=timeout)
    finally:
        logging.getLogger("prefect._internal.concurrency").removeFilter(quiet)
    return dropped


def _empty(pending: queue.Queue | None) -> int:
    """Take everything out of ``pending``; how many items there were."""
    count = 0
    while pending is not None:
        try:
            pending.get_nowait()
        except queue.Empty:
            break
        pending.task_done()
        count += 1
    return count


class _GivenUp(logging.Filter):
    """Leaves out the line a Prefect service logs when :func:`abandon_reports` ends it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "failed with" not in record.getMessage()
