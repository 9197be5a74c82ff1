"""Recorded keys: ``<working_dir>/<project>/.luisy.hash`` and the details beside it.

``.luisy.hash`` keeps the luisy 1.x shape (output path relative to the working dir -> key), so
a 1.x working dir can be adopted. ``.luisy.keys.json`` keeps what each key was made of (the
fingerprint's parts, parameters, upstream keys), so a plan can say *why* a task reruns.

Writes merge pending changes into what is on disk under an exclusive file lock and replace the
files atomically: two builds on one working dir keep each other's entries. Flushing is
throttled; an entry lost in a crash only means that task reruns.

A flush rewrites whole files, so its cost grows with the store: the files are written one
entry a line with the C JSON encoder, a file this process wrote last is not read back, and the
throttle widens so that flushing takes at most about 5 % of a build's time.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from luisy.targets.atomic import atomic_path

HASH_FILE = ".luisy.hash"
DETAILS_FILE = ".luisy.keys.json"
_DELETE = object()


_Signature = tuple[int, int, int]


def _signature(path: str) -> _Signature | None:
    """Identity of a file's current version (atomic replaces give a new inode)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); fix or remove it") from None
    return data if isinstance(data, dict) else {}


def _dumps(data: Any, levels: int, depth: int = 0) -> str:
    """Sorted JSON, one key a line for the outer ``levels`` dict levels, compact inside.

    Each compact part is one call of the C encoder (``json.dump`` with ``indent`` runs the
    pure-Python encoder, ~10x slower on a store of thousands of entries).
    """
    if levels <= 0 or not isinstance(data, dict) or not data:
        return json.dumps(data, sort_keys=True)
    pad = " " * depth
    inner = [f"{pad} {json.dumps(str(k))}: {_dumps(v, levels - 1, depth + 1)}"
             for k, v in sorted(data.items())]
    return "{\n" + ",\n".join(inner) + f"\n{pad}}}"


def _write_json(path: str, data: dict, levels: int = 1) -> _Signature | None:
    """Replace ``path`` atomically; the signature of the new file."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(_dumps(data, levels) + "\n")
    return _signature(path)


class HashStore:
    """The recorded keys of one project folder."""

    def __init__(self, folder: str):
        self.folder = folder
        self.hash_path = os.path.join(folder, HASH_FILE)
        self.details_path = os.path.join(folder, DETAILS_FILE)
        self._lock = threading.Lock()
        self._pending: dict[str, Any] = {}
        self._pending_fps: dict[str, dict] = {}
        self.keys: dict[str, str] = _read_json(self.hash_path)
        #: details file as read, loaded only when a plan has to explain a changed key
        self._loaded: tuple[dict[str, dict], dict[str, dict]] | None = None
        #: details and fingerprints recorded (or forgotten) by this process; they win
        self._recorded: dict[str, Any] = {}
        self._recorded_fps: dict[str, dict] = {}
        #: (signatures of the files, their content) as this process last wrote them
        self._written: tuple[tuple, tuple[dict, dict, dict]] | None = None

    def _details_file(self) -> tuple[dict[str, dict], dict[str, dict]]:
        with self._lock:
            if self._loaded is None:
                data = _read_json(self.details_path)
                self._loaded = (data.get("outputs", {}), data.get("fingerprints", {}))
            return self._loaded

    def get(self, rel_path: str) -> str | None:
        return self.keys.get(rel_path)

    def details_of(self, rel_path: str) -> dict | None:
        entry = self._recorded.get(rel_path)
        if entry is None:
            entry = self._details_file()[0].get(rel_path)
        if entry is None or entry is _DELETE:
            return None
        digest = entry.get("fingerprint", "")
        fp = self._recorded_fps.get(digest)
        if fp is None:
            fp = self._details_file()[1].get(digest, {})
        return {**entry, **fp}

    def record(self, rel_path: str, key: str, details: dict, fingerprint: dict) -> None:
        with self._lock:
            self.keys[rel_path] = key
            self._recorded[rel_path] = details
            self._recorded_fps[details["fingerprint"]] = fingerprint
            self._pending[rel_path] = (key, details)
            self._pending_fps[details["fingerprint"]] = fingerprint

    def forget(self, rel_path: str) -> None:
        with self._lock:
            self.keys.pop(rel_path, None)
            self._recorded[rel_path] = _DELETE
            self._pending[rel_path] = _DELETE

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        os.makedirs(self.folder, exist_ok=True)
        with open(self.hash_path + ".lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _on_disk(self) -> tuple[dict, dict, dict]:
        """Keys, details and fingerprints as on disk now (call under the file lock)."""
        signatures = (_signature(self.hash_path), _signature(self.details_path))
        if self._written is not None and self._written[0] == signatures:
            return self._written[1]  # still the files this process wrote last
        on_disk = _read_json(self.details_path)
        return (_read_json(self.hash_path), on_disk.get("outputs", {}),
                on_disk.get("fingerprints", {}))

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            fps, self._pending_fps = self._pending_fps, {}
        if not pending:
            return
        with self._file_lock():
            keys, details, fingerprints = self._on_disk()
            self._written = None
            fingerprints.update(fps)
            for rel, change in pending.items():
                if change is _DELETE:
                    keys.pop(rel, None)
                    details.pop(rel, None)
                else:
                    keys[rel], details[rel] = change
            used = {d.get("fingerprint") for d in details.values()}
            fingerprints = {k: v for k, v in fingerprints.items() if k in used}
            details_sig = _write_json(self.details_path, {
                "version": 1, "outputs": details, "fingerprints": fingerprints}, levels=2)
            hash_sig = _write_json(self.hash_path, keys)
            self._written = ((hash_sig, details_sig), (keys, details, fingerprints))


class HashStores:
    """One :class:`HashStore` per project folder, flushed together, throttled.

    ``flush_if_due`` flushes at most every ``interval`` seconds, and no more often than every
    20 times the last flush took, so a large store costs a build at most ~5 % of its time.
    """

    def __init__(self, interval: float = 0.5):
        self._stores: dict[str, HashStore] = {}
        self._lock = threading.Lock()
        self._interval = interval
        self._next_flush = time.monotonic() + interval

    def for_folder(self, folder: str) -> HashStore:
        with self._lock:
            store = self._stores.get(folder)
            if store is None:
                store = self._stores[folder] = HashStore(folder)
            return store

    def flush(self) -> None:
        start = time.monotonic()
        for store in list(self._stores.values()):
            store.flush()
        end = time.monotonic()
        self._next_flush = end + max(self._interval, 20 * (end - start))

    def flush_if_due(self) -> None:
        if time.monotonic() >= self._next_flush:
            self.flush()
