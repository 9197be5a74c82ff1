"""One project's folder on the remote: its outputs, and which key each of them holds.

The remote mirrors the working dir, as luisy 1.x's did: ``<remote>/<project>/<layer>/<file>``,
and ``<remote>/<project>/.luisy.hash`` (1.x's file: output path -> key, so 1.x clients still
download from it). Beside it, ``.luisy.remote.json`` holds, per output, the key its bytes were
uploaded for and their checksum (``sha256:...``, as recorded locally): a download is checked
against it before its key is recorded, so bytes that are not the key's are never taken, even
when another uploader replaces the object meanwhile.

An upload keeps the remote consistent whatever is killed (see :meth:`RemoteFolder.upload`):
the entry of an output being replaced is removed *before* its object is, and its new entry
written *after* the new object is complete (details first, then ``.luisy.hash``). A kill leaves
at most an object that no entry vouches for, which the next upload replaces. Both files are
changed by compare-and-swap (:mod:`luisy.remote.conditional`), and changes made at once are
written together, so two uploaders never lose each other's entries and 1,000 uploads do not
mean 1,000 rewrites of the index.

Each folder is listed once and its two files read once per build.
"""
from __future__ import annotations

import os
import shutil
import threading
from typing import Any

from luisy.remote.conditional import ConditionalFile, conditional_file
from luisy.targets.atomic import atomic_path

HASH_FILE = ".luisy.hash"
DETAILS_FILE = ".luisy.remote.json"


class _Coalesced:
    """Changes to one :class:`ConditionalFile`, written together: whoever finds no write in
    progress writes every change waiting, the others wait for it."""

    def __init__(self, file: ConditionalFile):
        self.file = file
        self._lock = threading.Lock()
        self._waiting: list[tuple[dict[str, Any], threading.Event, list]] = []
        self._writing = False
        self.content: dict | None = None
        self.writes = 0

    def apply(self, changes: dict[str, Any]) -> None:
        """Set (a value) or remove (``None``) the given entries; returns once written."""
        done, failure = threading.Event(), []
        with self._lock:
            self._waiting.append((changes, done, failure))
            if self._writing:
                writer = False
            else:
                self._writing = writer = True
        while writer:
            with self._lock:
                batch, self._waiting = self._waiting, []
                if not batch:
                    self._writing = False
                    break
            merged: dict[str, Any] = {}
            for changes_of_one, _, _ in batch:
                merged.update(changes_of_one)
            try:
                self.content = self.file.update(lambda data, m=merged: _changed(data, m))
                self.writes += 1
            except Exception as exc:
                for _, _, fail in batch:
                    fail.append(exc)
            for _, event, _ in batch:
                event.set()
        done.wait()
        if failure:
            raise failure[0]


def _changed(data: dict, changes: dict[str, Any]) -> dict:
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


class RemoteFolder:
    """``<remote>/<project>``: listed and read once, changed through compare-and-swap."""

    def __init__(self, fs: Any, root: str, project: str, where: str):
        self.fs = fs
        self.root = f"{root.rstrip('/')}/{project}"
        #: how messages name this folder (URL, no secrets)
        self.where = f"{where.rstrip('/')}/{project}"
        self._hashes = _Coalesced(conditional_file(fs, f"{self.root}/{HASH_FILE}",
                                                   f"{self.where}/{HASH_FILE}"))
        self._details = _Coalesced(conditional_file(fs, f"{self.root}/{DETAILS_FILE}",
                                                    f"{self.where}/{DETAILS_FILE}"))
        self._lock = threading.Lock()
        self._listing: dict[str, int] | None = None
        self.listings = 0

    # ------------------------------------------------------------------------ reading
    def path_of(self, rel_path: str) -> str:
        """The object of ``rel_path`` (``/<project>/<layer>/<file>``, as in ``.luisy.hash``)."""
        project_rel = rel_path.lstrip("/").split("/", 1)[1]
        return f"{self.root}/{project_rel}"

    def hashes(self) -> dict:
        with self._lock:
            if self._hashes.content is None:
                self._hashes.content = self._hashes.file.read()
            return self._hashes.content

    def details(self) -> dict:
        with self._lock:
            if self._details.content is None:
                self._details.content = self._details.file.read()
            return self._details.content

    def listing(self) -> dict[str, int]:
        """Every object below the folder (its path -> size): one listing per build."""
        with self._lock:
            if self._listing is None:
                self.listings += 1
                try:
                    found = self.fs.find(self.root, detail=True)
                except FileNotFoundError:
                    found = {}
                self._listing = {self.fs._strip_protocol(p): info.get("size") or 0
                                 for p, info in found.items() if info.get("type") != "directory"}
            return self._listing

    def key_of(self, rel_path: str) -> str | None:
        """The key the remote vouches for at ``rel_path``: named in ``.luisy.hash`` and in the
        details of an upload of that key (None: no such upload there)."""
        key = self.hashes().get(rel_path)
        detail = self.details().get(rel_path) or {}
        return key if key and detail.get("key") == key else None

    def checksum_of(self, rel_path: str) -> str | None:
        return (self.details().get(rel_path) or {}).get("content")

    def has_object(self, rel_path: str) -> bool:
        path = self.fs._strip_protocol(self.path_of(rel_path))
        listing = self.listing()
        return path in listing or any(p.startswith(path + "/") for p in listing)

    def objects_of(self, rel_path: str) -> dict[str, int]:
        """The object(s) of an output: one file, or the files of a folder output (path
        relative to the output -> size)."""
        path = self.fs._strip_protocol(self.path_of(rel_path))
        listing = self.listing()
        if path in listing:
            return {"": listing[path]}
        return {p[len(path) + 1:]: size for p, size in listing.items()
                if p.startswith(path + "/")}

    # ------------------------------------------------------------------------ writing
    def upload(self, rel_path: str, local: str, key: str, checksum: str | None) -> None:
        """Put the output at ``local`` on the remote as holding ``key`` (see the module doc
        for the order that keeps the remote consistent)."""
        if self.hashes().get(rel_path) is not None or rel_path in self.details():
            self._hashes.apply({rel_path: None})  # no key vouches for the object replaced
            self._details.apply({rel_path: None})
        self._put(local, self.path_of(rel_path))
        self._details.apply({rel_path: {"key": key, "content": checksum}})
        self._hashes.apply({rel_path: key})

    def _put(self, local: str, remote: str) -> None:
        """Upload a file or a folder whole; on a local remote, to a temporary name renamed
        into place (object stores show a PUT whole or not at all)."""
        if self._is_local():
            with atomic_path(self.fs._strip_protocol(remote)) as tmp:
                if os.path.isdir(local):
                    shutil.copytree(local, tmp)
                else:
                    shutil.copyfile(local, tmp)
            return
        if os.path.isdir(local):
            if self.fs.exists(remote):
                self.fs.rm(remote, recursive=True)
            self.fs.put(local.rstrip("/") + "/", remote, recursive=True)
        else:
            self.fs.put_file(local, remote)

    def download(self, rel_path: str, local: str) -> None:
        """Fetch the output's object(s) to ``local`` (a temporary path the caller renames)."""
        remote = self.path_of(rel_path)
        objects = self.objects_of(rel_path)
        if "" in objects:
            self.fs.get_file(remote, local)
            return
        os.makedirs(local, exist_ok=True)
        for rel in objects:
            target = os.path.join(local, *rel.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            self.fs.get_file(f"{remote}/{rel}", target)

    def _is_local(self) -> bool:
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (
            self.fs.protocol,)
        return "file" in protocols or "local" in protocols

    @property
    def index_writes(self) -> int:
        return self._hashes.writes + self._details.writes

