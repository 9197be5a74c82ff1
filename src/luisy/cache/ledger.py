"""Recording which key an output holds: one mechanism for every path that writes an output.

An output counts as complete only while its recorded key vouches for its bytes. So a run is a
transaction, as in Prefect's ``transactions.py``: under the output's lock (one per output,
across processes and threads, see ``locks.py``),

1. *check*: another build may have just made it: if the recorded key is the current one and
   the output exists, nothing runs;
2. *stage*: leftovers of killed writers of this output are removed and the old key is
   forgotten on disk *before* ``run()`` touches the output, so a failure or a kill from here
   on leaves an output with no key (it reruns), never new bytes under an old key;
3. *commit*: after ``run()`` returned, the new key is recorded, and only if the output was
   written during this run (through ``self.write()``, or its file changed): a ``run()`` that
   wrote nothing fails and records nothing. The key's details get the checksum of the bytes
   just written (see ``content.py``; the digest ``self.write()`` took on the way, while the
   file is still the one it wrote), so bytes changed later are found by ``luisy verify``,
   and a table's version (see ``data_version.py``), so a rewrite outside luisy reruns what
   reads it.

``task.write()`` outside a build (``task.run()`` by hand, as in luisy 1.x) records the task's
current key right after the write: the same store, the same record.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from luisy.cache.content import FIELD as CONTENT_FIELD
from luisy.cache.content import path_checksum, with_content
from luisy.cache.data_version import (
    NONE,
    VERSION_FIELD,
    Observed,
    data_of,
    output_version,
    written_version,
)
from luisy.cache.keys import KeyChain, TaskKey, output_place, predates_data_versions
from luisy.cache.locks import OutputLocks
from luisy.cache.store import HashStore, HashStores, KeyStore, Record
from luisy.errors import OutputNotWrittenError
from luisy.graph import build_graph
from luisy.targets.atomic import atomic_path, leftovers, remove_entries
from luisy.targets.base import Target
from luisy.targets.written import Written
from luisy.tasks.base import ExternalTask, Task


def record_of(task: Task, key: TaskKey) -> Record | None:
    """The record of ``task``'s output under ``key``; None for tasks without an output."""
    place = output_place(task)
    if place is None:
        return None
    return Record(place[0], place[1], key.key, key.details(), key.fingerprint_details())


def as_written(task: Task, record: Record, target: Target,
               written: Written | None = None) -> Record:
    """``record`` of an output just written: with its bytes' checksum (local outputs; from
    ``written``, the write's digest, when it is of the bytes there now) or its table's version
    (tables), for finding changes made to it later."""
    record = with_content(record, target, written)
    version = written_version(task, target)
    if version is None:
        return record
    return record.with_details({VERSION_FIELD: version})


def adopted(record: Record, previous: dict | None) -> Record:
    """``record`` (a new key) of an output whose recorded key was its legacy key, with the
    checksum and version recorded with that key: its bytes are not read again."""
    kept = {k: v for k, v in (previous or {}).items() if k in (CONTENT_FIELD, VERSION_FIELD)}
    return record.with_details(kept)


def key_chain(task: Task, stores: HashStores) -> KeyChain:
    """The keys of ``task``'s graph now, data versions observed as a plan would (the stat
    caches and recorded versions read from ``stores``)."""
    chain = KeyChain()
    outputs: dict[Task, Observed] = {}
    for t, deps in build_graph(task).deps.items():
        chain.add(t, deps, data_of(t, deps, outputs))
        outputs[t] = _observed(t, chain, stores)
    return chain


def current_key(task: Task) -> TaskKey:
    """The key ``task`` has now: its graph walked, its classes fingerprinted, its inputs'
    data versions observed."""
    return key_chain(task, HashStores()).keys[task]


def _observed(task: Task, chain: KeyChain, stores: HashStores) -> Observed:
    record = record_of(task, chain.keys[task])
    if record is None:
        return NONE
    store = stores.for_folder(record.folder)
    return output_version(task, task.output(), lambda: store.details_of(record.rel_path),
                          lambda: holds(store, record, chain.legacy(task)) and
                          task.output().exists())


def holds(store: KeyStore, record: Record, legacy: str) -> bool:
    """Whether the store vouches for ``record``'s output: its key is recorded, or its legacy
    key in a record made before data versions (see :class:`~luisy.cache.keys.KeyChain`)."""
    recorded = store.get(record.rel_path)
    return recorded == record.key or (
        recorded == legacy and predates_data_versions(store.details_of(record.rel_path)))


@dataclass
class _Attempt:
    task: Task
    wrote: bool = False
    #: what the last ``self.write()`` knew of its bytes
    written: Written | None = None


#: the run in progress in this context (a thread of a task run), to which write() reports
_ATTEMPT: ContextVar[_Attempt | None] = ContextVar("luisy_attempt", default=None)


class Ledger:
    """Records keys for the outputs of one build (or of by-hand writes)."""

    def __init__(self, stores: HashStores | None = None):
        self.stores = stores or HashStores()
        self._lock = threading.Lock()
        #: folder -> leftovers of killed writers found when this build first ran a task there
        self._leftovers: dict[str, dict[str, list[str]]] = {}
        self._locks = OutputLocks()

    def store(self, record: Record) -> KeyStore:
        return self.stores.for_folder(record.folder)

    # -------------------------------------------------------------------- a build's runs
    def run(self, task: Task, record: Record, body: Callable[[], Any],
            forced: bool = False) -> bool:
        """Run ``body`` (the task's ``run()``) as a transaction on its output (see the module
        doc). False when another build completed the output meanwhile and nothing ran; a
        ``forced`` run (``build(force=...)``) runs though its output is current."""
        target = task.output()

        def commit() -> Record:
            before = target.signature()
            attempt = _Attempt(task)
            token = _ATTEMPT.set(attempt)
            try:
                body()
            finally:
                _ATTEMPT.reset(token)
            after = target.signature()
            # a target that cannot tell (a table written by Spark itself) is taken at its word
            changed = after != before if after is not None else True
            if not target.exists() or not (attempt.wrote or changed):
                raise OutputNotWrittenError(
                    f"{task}: run() finished without writing its output {target.location}")
            written = attempt.written
            # the digest of the last write is of the bytes there only if nothing rewrote them
            return as_written(task, record, target,
                              written if written is not None and written.signature == after
                              else None)

        return self._transaction(task, record, commit, forced)

    def fetch(self, task: Task, record: Record, place: Callable[[str], str | None]) -> bool:
        """Put bytes made elsewhere (a download) in place as the output holding ``record``'s
        key: a transaction as :meth:`run` is. ``place(tmp)`` writes them to the temporary path
        ``tmp`` and returns the checksum they must have (``sha256:...``, None: unknown); bytes
        with another one are refused and nothing is recorded. False when another build
        completed the output meanwhile."""
        target = task.output()

        def commit() -> Record:
            with atomic_path(target.path) as tmp:
                expected = place(tmp)
                found = path_checksum(tmp)
                if expected is not None and found != expected:
                    raise OutputNotWrittenError(
                        f"{task}: the bytes fetched for {target.location} are not those "
                        f"uploaded for its key (checksum {found}, expected {expected})")
            return record.with_details({CONTENT_FIELD: found})

        return self._transaction(task, record, commit, forced=False)

    def _transaction(self, task: Task, record: Record, commit: Callable[[], Record],
                     forced: bool) -> bool:
        """Under the output's lock: check, stage (old key forgotten, leftovers gone), then
        ``commit()`` writes the output and returns the record to write (see the module doc)."""
        target = task.output()
        store = self.store(record)
        with self._locks.hold(record.folder, record.rel_path):
            # a build that made the output meanwhile wrote it first: only then look again
            if not forced and target.exists():
                store.refresh()
                if store.get(record.rel_path) == record.key:
                    return False
            self._prepare_folder(target)
            if store.get(record.rel_path) is not None:
                store.forget(record.rel_path)
            store.record(commit())
        return True

    def _prepare_folder(self, target: Target) -> None:
        """The output's folder exists before ``run()`` (luisy 1.x's ``run()`` may write to
        ``self.output().path`` itself), and leftovers of killed writers of this output are
        gone (the caller holds its lock); each folder is made and listed once per build."""
        folder = target.folder()
        if folder is None:
            return
        with self._lock:
            found = self._leftovers.get(folder)
            if found is None:
                os.makedirs(folder, exist_ok=True)
                found = self._leftovers[folder] = leftovers(folder)
            entries = found.pop(os.path.basename(target.path), ())
        remove_entries(folder, entries)

    def compact(self) -> None:
        self.stores.compact()


# --------------------------------------------------------------------- the model's service
class Records:
    """:class:`luisy.services.Records` for the task model: ``complete()``, ``read()``
    and ``write()`` of a task, in a build or by hand."""

    def is_current(self, task: Task) -> bool:
        if isinstance(task, ExternalTask):  # data from outside: there is all it can be
            return task.output().exists()
        stores = HashStores()  # one read of each store, for the key and for the record
        chain = key_chain(task, stores)
        record = record_of(task, chain.keys[task])
        if record is None:
            return False
        return holds(stores.for_folder(record.folder), record, chain.legacy(task)) and \
            task.output().exists()

    def written(self, task: Task, written: Written | None = None) -> None:
        attempt = _ATTEMPT.get()
        if attempt is not None and attempt.task is task:
            # the build's transaction commits after run() returns
            attempt.wrote, attempt.written = True, written
            return
        record = record_of(task, current_key(task))
        if record is not None:
            store = HashStore(record.folder)
            store.record(as_written(task, record, task.output(), written))
            store.compact()

