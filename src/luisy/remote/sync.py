"""A build's remote: which outputs it holds, and the transfers of one build.

- **Download** (``download`` on): the plan asks :meth:`Remote.available` for every step that
  would run; one with its current key on the remote becomes a ``download``. When the flow
  starts, every planned download is fetched at once into the build's own folder
  (``<working_dir>/.luisy-downloads/<build>/``), at most :data:`TRANSFERS` at a time; each
  download's task run then waits for its bytes and puts them in place through the ledger's
  transaction (:meth:`~luisy.cache.ledger.Ledger.fetch`): under the output's lock, old key
  forgotten first, the bytes checked against the checksum uploaded with the key, renamed into
  place, the key recorded. A kill leaves the build's download folder, which the next build
  removes (its lock is free), and never a key without its bytes.
- **Upload** (``upload`` on): every output the build made, and every complete one the remote
  holds under another key, is uploaded after its task, at most :data:`TRANSFERS` at a time,
  while the build goes on; the build waits for them before it ends. See
  :class:`~luisy.remote.folder.RemoteFolder` for how the remote stays consistent.

Only outputs that are files or folders of this machine travel (not Delta tables, nor Spark's
blob folders, which live in the cloud already).
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import functools
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from luisy.cache.content import FIELD as CONTENT_FIELD
from luisy.errors import RemoteError
from luisy.remote.folder import LAYOUTS, RemoteFolder
from luisy.remote.settings import RemoteSettings, remote_of
from luisy.targets.atomic import remove_entries

if TYPE_CHECKING:
    from luisy.cache import Record
    from luisy.planner import Plan, Step
    from luisy.tasks.base import Task

logger = logging.getLogger("luisy")

#: transfers in flight at once per build: threads of the pool
TRANSFERS = 8
#: downloads fetched by one bulk transfer (an async file system runs a chunk concurrently,
#: so up to TRANSFERS x CHUNK requests are in flight); small enough that the first
#: downloads' task runs start early
CHUNK = 16
DOWNLOADS_DIR = ".luisy-downloads"


def travels(task: Task) -> bool:
    """Whether ``task``'s output syncs: a file or folder of this machine, made by the
    pipeline (data from outside, an ExternalTask's, is its owner's to share)."""
    from luisy.targets.local import LocalTarget
    from luisy.tasks.base import ExternalTask

    return isinstance(task.output(), LocalTarget) and not isinstance(task, ExternalTask)


class Remote:
    """The remote of one build (or of one ``task.download()``): its file system, the project
    folders read so far, and the transfers in flight."""

    def __init__(self, settings: RemoteSettings, downloads: bool = False,
                 uploads: bool = False, transfers: int = TRANSFERS, layout: str = "mirror",
                 group_size: int = 1):
        import fsspec

        self.settings = settings
        #: what the build asked for: fetch outputs the remote has, send those it makes
        self.downloads, self.uploads = downloads, uploads
        if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
            raise RemoteError(f"download_group_size {group_size!r}: not a whole number of "
                              "at least 1 (1: one task run per download)")
        #: up to how many downloads of one class share a task run
        self.group_size = group_size
        if layout not in LAYOUTS:
            raise RemoteError(f"remote_layout '{layout}': not a layout; use one of "
                              f"{', '.join(LAYOUTS)}")
        #: how outputs are named on the remote (see luisy.remote.folder)
        self.layout = layout
        try:
            self.fs, self.root = fsspec.core.url_to_fs(settings.url, **settings.options)
        except (ImportError, ValueError) as exc:
            raise RemoteError(f"remote {settings.url}: {self.redact(str(exc))}") from None
        self._folders: dict[str, RemoteFolder] = {}
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(transfers,
                                                           thread_name_prefix="luisy-transfer")
        self._downloads: dict[str, concurrent.futures.Future] = {}
        self._uploads: list[tuple[Task, concurrent.futures.Future]] = []
        self._download_dir: str | None = None
        self._dir_lock: Any = None

    @property
    def url(self) -> str:
        return self.settings.url

    def redact(self, text: str) -> str:
        return self.settings.redact(text)

    def folder(self, record: Record) -> RemoteFolder:
        """The remote folder of ``record``'s project (made, listed and read once)."""
        project = record.rel_path.lstrip("/").split("/", 1)[0]
        with self._lock:
            found = self._folders.get(project)
            if found is None:
                found = self._folders[project] = LAYOUTS[self.layout](
                    self.fs, self.root, project, self.url)
            return found

    def _remote_error(self, task: Task, doing: str, exc: BaseException) -> RemoteError:
        return RemoteError(self.redact(f"{task}: cannot {doing} {self.url}: "
                                       f"{type(exc).__name__}: {exc}"))

    # ------------------------------------------------------------------------ reading
    def available(self, step: Step) -> str | None:
        """Where the remote holds ``step``'s output with its current key (None: it does not);
        for :func:`~luisy.planner.make_plan`."""
        if step.record is None or not travels(step.task):
            return None
        return self.holds(step.task, step.record)

    def holds(self, task: Task, record: Record) -> str | None:
        try:
            folder = self.folder(record)
            if not folder.holds(record.rel_path, record.key):
                return None
        except RemoteError:
            raise
        except Exception as exc:
            raise self._remote_error(task, "read", exc) from None
        return f"{folder.where}/{record.rel_path.lstrip('/').split('/', 1)[1]}"

    def key_of(self, record: Record) -> str | None:
        return self.folder(record).key_of(record.rel_path)

    # ---------------------------------------------------------------------- downloading
    def start_downloads(self, plan: Plan, working_dir: str) -> None:
        """Fetch every planned download into this build's download folder, in the pool."""
        from luisy.planner import Decision

        steps = plan.by_decision(Decision.DOWNLOAD)
        if not steps:
            return
        self._download_dir = self._own_download_dir(working_dir)
        for start in range(0, len(steps), CHUNK):
            chunk = [(step.task, step.record, concurrent.futures.Future())
                     for step in steps[start:start + CHUNK]]
            for _, record, future in chunk:
                self._downloads[record.rel_path] = future
            self._submit(self._fetch_chunk, chunk)

    def _own_download_dir(self, working_dir: str) -> str:
        """``<working_dir>/.luisy-downloads/<new id>``, locked while this build lives;
        folders of killed builds (their lock free) are removed."""
        from filelock import FileLock, Timeout

        base = os.path.join(working_dir, DOWNLOADS_DIR)
        os.makedirs(base, exist_ok=True)
        for name in os.listdir(base):
            if name.endswith(".lock"):
                continue
            lock = FileLock(os.path.join(base, name + ".lock"))
            try:
                with lock.acquire(timeout=0):
                    shutil.rmtree(os.path.join(base, name), ignore_errors=True)
            except Timeout:
                continue  # a live build's
        path = os.path.join(base, uuid.uuid4().hex[:12])
        self._dir_lock = FileLock(path + ".lock")
        self._dir_lock.acquire()
        os.makedirs(path)
        return path

    def _fetch_chunk(self, chunk: list[tuple[Task, Record, concurrent.futures.Future]]) -> None:
        """Fetch a chunk of planned downloads into the download folder, one bulk transfer per
        project folder; each future gets (local path, checksum) or its task's error. When a
        bulk transfer fails, its outputs are fetched one by one, so that each error names its
        own task."""
        assert self._download_dir is not None
        try:
            by_folder: dict[int, list] = {}
            for task, record, future in chunk:
                if future.set_running_or_notify_cancel():  # not cancelled by close()
                    local = os.path.join(self._download_dir, uuid.uuid4().hex[:12])
                    by_folder.setdefault(id(self.folder(record)), []).append(
                        (task, record, future, local))
            for group in by_folder.values():
                self._fetch_group(self.folder(group[0][1]), group)
        finally:  # no task run waits for ever: what is not settled yet failed
            for task, _, future in chunk:
                if future.running():
                    future.set_exception(RemoteError(f"{task}: download from {self.url} "
                                                     "stopped"))

    def _fetch_group(self, folder: RemoteFolder, group: list) -> None:
        try:
            checksums = folder.fetch([(r.rel_path, r.key, local) for _, r, _, local in group])
        except Exception:
            for task, record, future, local in group:
                try:
                    future.set_result((local, self._fetch(task, record, local)))
                except RemoteError as exc:
                    future.set_exception(exc)
            return
        for (_, _, future, local), checksum in zip(group, checksums, strict=True):
            future.set_result((local, checksum))

    def _fetch(self, task: Task, record: Record, local: str) -> str | None:
        """Download ``record``'s output to ``local``; the checksum it must have."""
        try:
            return self.folder(record).download(record.rel_path, record.key, local)
        except Exception as exc:
            remove_entries(os.path.dirname(local), [os.path.basename(local)])
            raise self._remote_error(task, "download from", exc) from None

    def place_download(self, task: Task, record: Record, tmp: str) -> str | None:
        """Move the fetched bytes of ``task``'s output to ``tmp`` (the ledger's temporary
        path); the checksum they must have. Fetches now when not prefetched (by hand)."""
        future = self._downloads.pop(record.rel_path, None)
        local, checksum = future.result() if future is not None else self._fetch_now(
            task, record)
        os.replace(local, tmp)
        return checksum

    def _fetch_now(self, task: Task, record: Record) -> tuple[str, str | None]:
        local = os.path.join(os.path.dirname(task.output().path),
                             f".luisy-download-{uuid.uuid4().hex[:8]}")
        return local, self._fetch(task, record, local)

    # ------------------------------------------------------------------------ uploading
    def start_uploads(self, plan: Plan) -> None:
        """Upload the complete outputs that the remote holds under another key (or not)."""
        from luisy.planner import Decision

        for step in plan.by_decision(Decision.COMPLETE):
            if step.record is not None and travels(step.task) and self.key_of(
                    step.record) != step.record.key:
                checksum = (step.store.details_of(step.rel_path) or {}).get(CONTENT_FIELD)
                self.upload_soon(step.task, step.record, checksum)

    def upload_after_run(self, task: Task, record: Record, store: Any) -> None:
        """Upload an output the build just made, when it travels."""
        if travels(task):
            checksum = (store.details_of(record.rel_path) or {}).get(CONTENT_FIELD)
            self.upload_soon(task, record, checksum)

    def upload_soon(self, task: Task, record: Record, checksum: str | None) -> None:
        """Upload ``task``'s output in the pool (the build waits at :meth:`finish`)."""
        self._uploads.append((task, self._submit(self.upload, task, record, checksum)))

    def _submit(self, fn: Any, *args: Any) -> concurrent.futures.Future:
        """``fn(*args)`` in the pool, in a copy of this context (the build's settings)."""
        return self._pool.submit(contextvars.copy_context().run, fn, *args)

    def upload(self, task: Task, record: Record, checksum: str | None) -> None:
        try:
            self.folder(record).upload(record.rel_path, task.output().path, record.key,
                                       checksum)
        except Exception as exc:
            raise self._remote_error(task, "upload to", exc) from None

    def finish(self) -> tuple[set[Task], dict[Task, str]]:
        """Wait for the uploads: the tasks whose output was uploaded, and the error of each
        upload that failed (its task -> message)."""
        uploaded, failed = set(), {}
        for task, future in self._uploads:
            try:
                future.result()
                uploaded.add(task)
            except RemoteError as exc:
                failed[task] = str(exc)
        self._uploads = []
        return uploaded, failed

    def close(self) -> None:
        """Stop the pool; remove this build's download folder."""
        for future in self._downloads.values():
            future.cancel()
        self._pool.shutdown(wait=True)
        if self._download_dir is not None:
            shutil.rmtree(self._download_dir, ignore_errors=True)
            self._dir_lock.release()
            with contextlib.suppress(FileNotFoundError):
                os.remove(self._dir_lock.lock_file)
            self._download_dir = None

    def stats(self) -> dict[str, int]:
        """Listings and index writes so far, over every folder (for tests and benchmarks)."""
        return {"listings": sum(f.listings for f in self._folders.values()),
                "index_writes": sum(f.index_writes for f in self._folders.values())}


#: the remote of the build this runs in
_CURRENT: ContextVar[Remote | None] = ContextVar("luisy_remote", default=None)


def current_remote() -> Remote | None:
    return _CURRENT.get()


@contextlib.contextmanager
def remote_for_build(settings: Any) -> Iterator[Remote | None]:
    """The remote of a build whose ``settings`` ask to download or upload (None when they do
    not), current inside the block, its pool stopped and downloads folder gone afterwards.
    Asking for either with no remote set is an error naming the ways to set one."""
    downloads, uploads = bool(settings.get_param("download")), bool(
        settings.get_param("upload"))
    if not (downloads or uploads):
        yield None
        return
    spec = remote_of(settings)
    if spec is None:
        asked = "download" if downloads else "upload"
        raise RemoteError(f"{asked}: no remote is set; give --remote URL, "
                          "Config().set_param('remote', URL), the LUISY_REMOTE variable, a "
                          "remote_block, or luisy 1.x's azure_account_name and "
                          "azure_container_name")
    remote = Remote(spec, downloads=downloads, uploads=uploads,
                    layout=settings.get_param("remote_layout"),
                    group_size=settings.get_param("download_group_size"))
    token = _CURRENT.set(remote)
    try:
        yield remote
    finally:
        _CURRENT.reset(token)
        remote.close()


# --------------------------------------------------------------- by hand, as in luisy 1.x
def _by_hand(task: Task) -> tuple[Remote, Record]:
    from luisy.cache import current_key, record_of
    from luisy.config import current

    spec = remote_of(current())
    if spec is None:
        raise RemoteError(f"{task}: no remote is set; give Config().set_param('remote', URL), "
                          "the LUISY_REMOTE variable, a remote_block, or luisy 1.x's "
                          "azure_account_name and azure_container_name")
    record = record_of(task, current_key(task))
    if record is None or not travels(task):
        raise RemoteError(f"{task}: its output is no file or folder of this machine: it does "
                          "not travel to a remote")
    return Remote(spec, layout=current().get_param("remote_layout")), record


def download_task(task: Task) -> None:
    """``task.download()``: fetch its output from the remote, which must hold it with the
    task's current key; the key is recorded here as if it had run."""
    from luisy.cache import Ledger

    remote, record = _by_hand(task)
    try:
        if remote.holds(task, record) is None:
            found = remote.key_of(record)
            raise RemoteError(f"{task}: {remote.url} does not hold its output with its "
                              f"current key (it holds {found or 'none'})")
        ledger = Ledger()
        ledger.fetch(task, record, functools.partial(remote.place_download, task, record))
        ledger.compact()
    finally:
        remote.close()


def upload_task(task: Task, overwrite: bool = False) -> None:
    """``task.upload(overwrite=False)``: send its complete output to the remote; one the
    remote has already (under any key) is replaced only with ``overwrite``."""
    from luisy.cache import HashStore

    if not task.complete():
        raise RemoteError(f"{task}: not complete here (no output, or not its current key): "
                          "nothing to upload")
    remote, record = _by_hand(task)
    try:
        if overwrite or remote.key_of(record) is None:
            details = HashStore(record.folder).details_of(record.rel_path) or {}
            remote.upload(task, record, details.get(CONTENT_FIELD))
    finally:
        remote.close()


# ------------------------------------------------------------------------ luisy remote gc
def collect_garbage(settings: RemoteSettings, keep_days: float,
                    dry_run: bool = False) -> list[str]:
    """Remove what no ``.luisy.hash`` of the remote refers to and nobody wrote in the last
    ``keep_days`` days, in either layout (objects of other branches' keys, leftovers of
    killed uploads); the paths removed (``dry_run``: that would be)."""
    from luisy.remote.folder import SharedFolder, is_manifest

    remote = Remote(settings)
    try:
        older_than = time.time() - keep_days * 86400
        removed = []
        try:
            projects = [p for p in remote.fs.ls(remote.root, detail=True)
                        if p.get("type") == "directory"]
        except FileNotFoundError:
            return []
        for entry in projects:
            project = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            folder = SharedFolder(remote.fs, remote.root, project, remote.url)
            garbage = folder.garbage(older_than)
            if not dry_run:  # the manifests first: no key is ever named without its bytes
                for wave in ([p for p in garbage if is_manifest(p)],
                             [p for p in garbage if not is_manifest(p)]):
                    if wave:
                        remote.fs.rm(wave)
            removed += garbage
        return removed
    except RemoteError:
        raise
    except Exception as exc:
        raise RemoteError(remote.redact(f"remote gc {remote.url}: {type(exc).__name__}: "
                                        f"{exc}")) from None
    finally:
        remote.close()
