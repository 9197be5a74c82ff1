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

import json
import os
import shutil
import threading
import time
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
    """``<remote>/<project>`` in the mirror layout (luisy 1.x's): listed and read once,
    changed through compare-and-swap."""

    layout = "mirror"

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
        self._listing: dict[str, dict] | None = None
        self._dirs: set[str] = set()
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

    def listing(self) -> dict[str, dict]:
        """Every object below the folder (its path -> fsspec's info): one listing per build."""
        with self._lock:
            if self._listing is None:
                self.listings += 1
                try:
                    found = self.fs.find(self.root, detail=True)
                except FileNotFoundError:
                    found = {}
                self._listing = {self.fs._strip_protocol(p): info for p, info in found.items()
                                 if info.get("type") != "directory"}
                for path in self._listing:
                    parts = path.split("/")
                    self._dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
            return self._listing

    def key_of(self, rel_path: str) -> str | None:
        """The key ``.luisy.hash`` names for ``rel_path``, if an upload of that key wrote its
        details too (None: no such upload there)."""
        key = self.hashes().get(rel_path)
        detail = self.details().get(rel_path) or {}
        return key if key and detail.get("key") == key else None

    def holds(self, rel_path: str, key: str) -> bool:
        """Whether the remote has the output of ``rel_path`` with ``key``."""
        return self.key_of(rel_path) == key and self._exists(self.path_of(rel_path))

    def checksum(self, rel_path: str, key: str) -> str | None:
        """The checksum of the bytes uploaded for ``key`` (None: not recorded)."""
        detail = self.details().get(rel_path) or {}
        return detail.get("content") if detail.get("key") == key else None

    def _exists(self, path: str) -> bool:
        path = self.fs._strip_protocol(path)
        listing = self.listing()
        return path in listing or path in self._dirs

    def _objects_below(self, path: str) -> list[str]:
        """The object at ``path`` (``[""]``), or the files of a folder there (relative)."""
        path = self.fs._strip_protocol(path)
        listing = self.listing()
        if path in listing:
            return [""]
        return [p[len(path) + 1:] for p in listing if p.startswith(path + "/")]

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

    def download(self, rel_path: str, key: str, local: str) -> str | None:
        """Fetch the output's object(s) to ``local`` (a temporary path the caller renames);
        the checksum its bytes must have."""
        return self.fetch([(rel_path, key, local)])[0]

    def fetch(self, outputs: list[tuple[str, str, str]]) -> list[str | None]:
        """Fetch each ``(rel_path, key, local)`` output in one bulk ``get``, which an async
        file system (adlfs, s3fs, gcsfs) runs concurrently; the checksum each one's bytes
        must have (None: not recorded)."""
        pairs = [pair for rel, key, local in outputs for pair in self._transfers(rel, key,
                                                                                local)]
        if pairs:
            self.fs.get([remote for remote, _ in pairs], [local for _, local in pairs])
        return [self._fetched_checksum(rel, key, local) for rel, key, local in outputs]

    def _object(self, rel_path: str, key: str) -> str:
        """Where the bytes of ``rel_path`` with ``key`` are."""
        return self.path_of(rel_path)

    def _transfers(self, rel_path: str, key: str, local: str) -> list[tuple[str, str]]:
        """The (remote file, local file) pairs that fetch one output: its object, or the
        files of its folder (made here, also when empty)."""
        remote = self._object(rel_path, key)
        objects = self._objects_below(remote)
        if objects == [""]:
            return [(remote, local)]
        os.makedirs(local, exist_ok=True)
        return [(f"{remote}/{rel}", os.path.join(local, *rel.split("/"))) for rel in objects]

    def _fetched_checksum(self, rel_path: str, key: str, local: str) -> str | None:
        return self.checksum(rel_path, key)

    def _is_local(self) -> bool:
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (
            self.fs.protocol,)
        return "file" in protocols or "local" in protocols

    @property
    def index_writes(self) -> int:
        return self._hashes.writes + self._details.writes

    # ----------------------------------------------------------------------- clean-up
    def garbage(self, older_than: float) -> list[str]:
        """Objects no entry of ``.luisy.hash`` refers to, last changed before ``older_than``
        (a time stamp): what a killed upload left, or what another one replaced."""
        referenced = {self.fs._strip_protocol(self.path_of(rel)) for rel in self.hashes()}
        found = []
        for path, info in self.listing().items():
            name = path[len(self.fs._strip_protocol(self.root)) + 1:]
            if name in (HASH_FILE, DETAILS_FILE) or name.endswith(".lock") or name.startswith(
                    OBJECTS + "/") or any(path == ref or path.startswith(ref + "/")
                                          for ref in referenced):
                continue
            if _changed_at(info) < older_than:
                found.append(path)
        return found


class SharedFolder(RemoteFolder):
    """``<remote>/<project>`` in the shared (content-addressed) layout: each output's bytes
    are an object named by its key, ``.luisy.objects/<k[:2]>/<key>/<file name>``, never
    overwritten, and beside it ``<key>.json`` (the output's path, its checksum), written once
    the object is complete. Branches and users that make one output with different code keep
    each their own object; one key is uploaded once. ``.luisy.hash`` records the latest key
    uploaded per output (luisy 1.x's view, and what ``luisy remote gc`` keeps)."""

    layout = "shared"

    def object_of(self, rel_path: str, key: str) -> str:
        return f"{self.root}/{OBJECTS}/{key[:2]}/{key}/{rel_path.rsplit('/', 1)[1]}"

    def manifest_of(self, key: str) -> str:
        return f"{self.root}/{OBJECTS}/{key[:2]}/{key}.json"

    def holds(self, rel_path: str, key: str) -> bool:
        return self.fs._strip_protocol(self.manifest_of(key)) in self.listing()

    def checksum(self, rel_path: str, key: str) -> str | None:
        return json.loads(self.fs.cat_file(self.manifest_of(key))).get("content")

    def upload(self, rel_path: str, local: str, key: str, checksum: str | None) -> None:
        """Put the object of ``key`` unless the remote has it; (re)write its manifest either
        way, whose time is the key's last upload (``luisy remote gc`` keeps a key so long),
        and name the key in ``.luisy.hash``."""
        if not self.holds(rel_path, key):
            self._put(local, self.object_of(rel_path, key))
        manifest = {"path": rel_path, "content": checksum, "uploaded": time.time()}
        self.fs.pipe_file(self.manifest_of(key), json.dumps(manifest).encode())
        self._hashes.apply({rel_path: key})

    def _object(self, rel_path: str, key: str) -> str:
        return self.object_of(rel_path, key)

    def _transfers(self, rel_path: str, key: str, local: str) -> list[tuple[str, str]]:
        """The object's files, and its manifest (fetched in the same bulk get)."""
        return [*super()._transfers(rel_path, key, local),
                (self.manifest_of(key), local + MANIFEST_SUFFIX)]

    def _fetched_checksum(self, rel_path: str, key: str, local: str) -> str | None:
        with open(local + MANIFEST_SUFFIX, "rb") as fh:
            manifest = json.load(fh)
        os.remove(local + MANIFEST_SUFFIX)
        return manifest.get("content")

    def key_of(self, rel_path: str) -> str | None:
        return self.hashes().get(rel_path)

    def garbage(self, older_than: float) -> list[str]:
        """The keys no ``.luisy.hash`` entry names whose last upload (their newest file) was
        before ``older_than``: each key's manifest first, so that a build reading the remote
        meanwhile finds the key gone rather than a manifest without its bytes, then its
        object; and the mirror layout's garbage (a remote may hold both)."""
        referenced = set(self.hashes().values())
        base = self.fs._strip_protocol(f"{self.root}/{OBJECTS}")
        manifests, objects, newest = [], [], {}
        for path, info in self.listing().items():
            if not path.startswith(base + "/"):
                continue
            name = path[len(base) + 1:].split("/")[1]
            key = name.removesuffix(".json")
            newest[key] = max(newest.get(key, 0.0), _changed_at(info))
            (manifests if name != key else objects).append((key, path))
        old = {key for key, at in newest.items() if key not in referenced and at < older_than}
        return [path for key, path in manifests + objects if key in old] + super().garbage(
            older_than)


LAYOUTS = {"mirror": RemoteFolder, "shared": SharedFolder}
OBJECTS = ".luisy.objects"
#: beside a fetched output, its manifest until read
MANIFEST_SUFFIX = ".manifest.json"


def is_manifest(path: str) -> bool:
    """Whether ``path`` is a key's manifest (``.luisy.objects/<k[:2]>/<key>.json``), not an
    object (``.luisy.objects/<k[:2]>/<key>/<file name>``)."""
    parts = path.split("/")
    return len(parts) >= 3 and parts[-3] == OBJECTS and parts[-1].endswith(".json")


def _changed_at(info: dict) -> float:
    """When an object was last written, from fsspec's info (each backend names it so)."""
    for name in ("LastModified", "last_modified", "mtime", "created"):
        value = info.get(name)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return value.timestamp()
        return float(value)
    return 0.0
