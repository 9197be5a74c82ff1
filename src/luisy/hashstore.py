"""Recorded keys: ``<working_dir>/<project>/.luisy.hash`` and the details beside it.

``.luisy.hash`` keeps the luisy 1.x shape (output path relative to the working dir -> key), so
a 1.x working dir can be adopted. ``.luisy.keys.json`` keeps what each key was made of (the
fingerprint's parts, parameters, upstream keys), so a plan can say *why* a task reruns.

Writes merge pending changes into what is on disk under an exclusive file lock and replace the
files atomically: two builds on one working dir keep each other's entries. Flushing is
throttled; an entry lost in a crash only means that task reruns.
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


def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); fix or remove it") from None
    return data if isinstance(data, dict) else {}


def _write_json(path: str, data: dict) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)


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
        details = _read_json(self.details_path)
        self.details: dict[str, dict] = details.get("outputs", {})
        self.fingerprints: dict[str, dict] = details.get("fingerprints", {})

    def get(self, rel_path: str) -> str | None:
        return self.keys.get(rel_path)

    def details_of(self, rel_path: str) -> dict | None:
        entry = self.details.get(rel_path)
        if entry is None:
            return None
        return {**entry, **self.fingerprints.get(entry.get("fingerprint", ""), {})}

    def record(self, rel_path: str, key: str, details: dict, fingerprint: dict) -> None:
        with self._lock:
            self.keys[rel_path] = key
            self.details[rel_path] = details
            self.fingerprints[details["fingerprint"]] = fingerprint
            self._pending[rel_path] = (key, details)
            self._pending_fps[details["fingerprint"]] = fingerprint

    def forget(self, rel_path: str) -> None:
        with self._lock:
            self.keys.pop(rel_path, None)
            self.details.pop(rel_path, None)
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

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            fps, self._pending_fps = self._pending_fps, {}
        if not pending:
            return
        with self._file_lock():
            keys = _read_json(self.hash_path)
            on_disk = _read_json(self.details_path)
            details = on_disk.get("outputs", {})
            fingerprints = on_disk.get("fingerprints", {})
            fingerprints.update(fps)
            for rel, change in pending.items():
                if change is _DELETE:
                    keys.pop(rel, None)
                    details.pop(rel, None)
                else:
                    keys[rel], details[rel] = change
            used = {d.get("fingerprint") for d in details.values()}
            fingerprints = {k: v for k, v in fingerprints.items() if k in used}
            _write_json(self.details_path, {"version": 1, "outputs": details,
                                            "fingerprints": fingerprints})
            _write_json(self.hash_path, keys)


class HashStores:
    """One :class:`HashStore` per project folder, flushed together and at most every 0.5 s."""

    def __init__(self, interval: float = 0.5):
        self._stores: dict[str, HashStore] = {}
        self._lock = threading.Lock()
        self._interval = interval
        self._last_flush = time.monotonic()

    def for_folder(self, folder: str) -> HashStore:
        with self._lock:
            store = self._stores.get(folder)
            if store is None:
                store = self._stores[folder] = HashStore(folder)
            return store

    def flush(self) -> None:
        for store in list(self._stores.values()):
            store.flush()
        self._last_flush = time.monotonic()

    def flush_if_due(self) -> None:
        if time.monotonic() - self._last_flush >= self._interval:
            self.flush()
