"""Recorded keys: which key the bytes of each output belong to, per project folder.

In ``<working_dir>/<project>/``:

- ``.luisy.hash``: luisy 1.x's shape and spelling (``/proj/interim/Clean_a=1.pkl`` -> key:
  the output's path from the working dir, ``/`` in front), so a 1.x working dir is adopted
  with one entry per output and 1.x tools still read it. Entries spelt without the ``/`` (by
  luisy 2 before it wrote 1.x's spelling) are read as the same output, and win;
- ``.luisy.keys.json``: what each key was made of (the fingerprint's parts, parameters,
  upstream keys), so a plan can say *why* a task reruns;
- ``.luisy.journal``: the changes since those two files were written, one JSON line each.
  Recording or forgetting a key is one short append under the store's lock, not a rewrite of
  the store: a key is on disk the moment its output is committed (a build waiting for that
  output then finds it), at a cost that does not grow with the store. A line cut short by a
  kill is never applied. :meth:`HashStore.compact` folds the journal into the two files (at
  the end of a build);
- ``.luisy.lock``: the store's lock file (``filelock``: Linux, macOS and Windows).

:class:`MemoryStore` keeps the same interface in memory, for tests of the layers above.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from filelock import FileLock

from luisy.errors import HashStoreError
from luisy.targets.atomic import atomic_path, leftovers, remove_entries

HASH_FILE = ".luisy.hash"
DETAILS_FILE = ".luisy.keys.json"
JOURNAL_FILE = ".luisy.journal"
#: ending of a journal a compaction set aside to fold it (left behind if it was killed)
SEALED = ".sealed"
#: POSIX appends of one ``write`` never interleave, so records take no lock; elsewhere they do
ATOMIC_APPENDS = os.name == "posix"
LOCK_FILE = ".luisy.lock"


@dataclass(frozen=True)
class Record:
    """What to record for one output, and where: plain data, sent along with a task run."""

    folder: str
    rel_path: str
    key: str
    details: dict = field(repr=False)
    fingerprint: dict = field(repr=False)


class KeyStore(Protocol):
    """What the plan and the ledger need of a store of recorded keys."""

    def get(self, rel_path: str) -> str | None: ...

    def details_of(self, rel_path: str) -> dict | None: ...

    def record(self, record: Record) -> None: ...

    def forget(self, rel_path: str) -> None: ...

    def refresh(self) -> None: ...

    def compact(self) -> None: ...


def hash_key(rel_path: str) -> str:
    """luisy 1.x's spelling of an output in ``.luisy.hash``: its path from the working dir,
    with ``/`` in front and between parts (``/proj/interim/Clean_a=1.pkl``); a path outside
    the working dir stays as it is."""
    if rel_path.startswith(("/", "..")) or os.path.isabs(rel_path):
        return rel_path
    return "/" + rel_path.replace(os.sep, "/")


def _one_spelling(entries: dict) -> dict:
    """``entries`` under 1.x's spelling; of two spellings of one output, the one without the
    leading ``/`` (written by luisy 2, so its key is luisy 2's) wins."""
    spelt = {hash_key(str(k)): v for k, v in entries.items() if str(k).startswith("/")}
    spelt.update((hash_key(str(k)), v) for k, v in entries.items() if not str(k).startswith("/"))
    return spelt


def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HashStoreError(f"{path} is not valid JSON ({exc}); fix or remove it") from None
    if not isinstance(data, dict):
        raise HashStoreError(f"{path} holds a JSON {type(data).__name__}, not an object; fix "
                             "or remove it")
    return data


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


def _write_json(path: str, data: dict, levels: int = 1) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(_dumps(data, levels) + "\n")


def _inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


class HashStore:
    """The recorded keys of one project folder (see the module doc for its files)."""

    def __init__(self, folder: str):
        self.folder = folder
        self.hash_path = os.path.join(folder, HASH_FILE)
        self.details_path = os.path.join(folder, DETAILS_FILE)
        self.journal_path = os.path.join(folder, JOURNAL_FILE)
        self._lock = threading.RLock()
        self._file_lock = FileLock(os.path.join(folder, LOCK_FILE))
        self.keys: dict[str, str] = {}
        #: details and fingerprint parts from the journal (they win over the details file)
        self._details: dict[str, dict | None] = {}
        self._fps: dict[str, dict] = {}
        #: the details file, read only when a plan has to explain a changed key
        self._details_file: tuple[dict, dict] | None = None
        #: the journal as last read: its identity and how far it was applied
        self._journal: tuple[tuple[int, int] | None, int] = (None, 0)
        #: whether this process changed the store since it was last compacted
        self._changed = False
        #: this process's descriptor of the live journal, open while it appends
        self._fd: int | None = None
        #: the hash file as last read: a compaction replaces it
        self._hash_identity: tuple[int, int] | None = None
        self._loaded = False

    # ------------------------------------------------------------------------ reading
    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self.reload()

    def reload(self) -> None:
        """Read the store as on disk now: the hash file and the whole journal."""
        with self._lock, self._locked_if_present():
            self._read_all()

    def _read_all(self) -> None:
        """The hash file, then journals sealed by a compaction that did not finish, then the
        live journal (the caller holds the store's lock: no compaction runs meanwhile)."""
        self._hash_identity = _inode(self.hash_path)
        self.keys = {k: str(v) for k, v in _one_spelling(_read_json(self.hash_path)).items()}
        self._details, self._fps, self._details_file = {}, {}, None
        for path in self._sealed():
            with open(path, "rb") as fh:
                self._apply_lines(fh.read())
        self._journal = (None, 0)
        self._apply_journal()
        self._loaded = True

    def _sealed(self) -> list[str]:
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        return [os.path.join(self.folder, n) for n in sorted(names)
                if n.startswith(f"{JOURNAL_FILE}.") and n.endswith(SEALED)]

    @contextmanager
    def _locked_if_present(self) -> Iterator[None]:
        """The store's lock, when the folder exists (reading a store nobody wrote locks
        nothing and creates nothing)."""
        if not os.path.isdir(self.folder):
            yield
            return
        with self._file_lock:
            yield

    def refresh(self) -> None:
        """Apply what other builds appended since the last read (a whole reload when the
        journal was sealed by a compaction meanwhile)."""
        with self._lock:
            if (not self._loaded or _inode(self.hash_path) != self._hash_identity
                    or not self._apply_journal()):
                self.reload()

    def _apply_journal(self) -> bool:
        """Apply the live journal from where it was last read; False when it is another file
        than the one read so far (a compaction sealed that one: reload)."""
        identity, offset = self._journal
        try:
            with open(self.journal_path, "rb") as fh:
                st = os.fstat(fh.fileno())
                if identity is not None and (st.st_dev, st.st_ino) != identity:
                    return False
                fh.seek(offset)
                data = fh.read()
        except FileNotFoundError:
            return identity is None
        end = self._apply_lines(data)
        self._journal = ((st.st_dev, st.st_ino), offset + end)
        return True

    def _apply_lines(self, data: bytes) -> int:
        """Apply whole lines; how many bytes they took (a line without its newline is still
        being written)."""
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            self._apply(line)
        return end

    def _apply(self, line: bytes) -> None:
        try:
            entry = json.loads(line)
        except ValueError:
            return  # a line torn by a crash of its writer: never half-applied
        self._apply_entry(entry)

    def _apply_entry(self, entry: dict) -> None:
        if "f" in entry:
            self._fps[entry["f"]] = entry["p"]
            return
        rel = hash_key(entry["r"])
        if entry.get("k") is None:
            self.keys.pop(rel, None)
            self._details[rel] = None
        else:
            self.keys[rel] = entry["k"]
            self._details[rel] = entry.get("d")

    def get(self, rel_path: str) -> str | None:
        self._ensure_loaded()
        return self.keys.get(rel_path if rel_path[:1] == "/" else hash_key(rel_path))

    def details_of(self, rel_path: str) -> dict | None:
        """What the recorded key of ``rel_path`` was made of, with its fingerprint's parts."""
        self._ensure_loaded()
        rel_path = hash_key(rel_path)
        with self._lock:
            if rel_path in self._details:
                entry = self._details[rel_path]
            else:
                entry = self._file_details()[0].get(rel_path)
            if entry is None:
                return None
            digest = entry.get("fingerprint", "")
            fp = self._fps.get(digest)
            if fp is None:
                fp = self._file_details()[1].get(digest, {})
            return {**entry, **fp}

    def _file_details(self) -> tuple[dict, dict]:
        if self._details_file is None:
            data = _read_json(self.details_path)
            self._details_file = (_one_spelling(data.get("outputs", {})),
                                  data.get("fingerprints", {}))
        return self._details_file

    # ------------------------------------------------------------------------ writing
    def record(self, record: Record) -> None:
        """Record that the output at ``record.rel_path`` holds ``record.key`` (on disk when
        this returns)."""
        lines = []
        digest = record.details.get("fingerprint")
        if digest is not None and self._fps.get(digest) != record.fingerprint:
            lines.append({"f": digest, "p": record.fingerprint})
        lines.append({"r": hash_key(record.rel_path), "k": record.key, "d": record.details})
        self._append(lines)

    def forget(self, rel_path: str) -> None:
        """No key is recorded for ``rel_path`` any more (on disk when this returns)."""
        self._append([{"r": hash_key(rel_path)}])

    def _append(self, entries: list[dict]) -> None:
        data = "".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n"
                       for e in entries).encode()
        with self._lock:
            self._ensure_loaded()
            if ATOMIC_APPENDS:
                self._append_unlocked(data)
            else:
                with self._file_lock, open(self.journal_path, "ab") as fh:
                    fh.write(data)
            for entry in entries:
                self._apply_entry(entry)
            self._changed = True

    def _append_unlocked(self, data: bytes) -> None:
        """One ``write`` to the journal, kept open (O_APPEND: appends of several processes
        never interleave), then a check that it is still the live journal: if a compaction
        sealed it meanwhile, the line may be after what it read, so it goes into the new
        journal too (applying an entry twice changes nothing). No store lock per record: with
        many tiny tasks in threads, every system call is a chance to lose the GIL."""
        while True:
            if self._fd is None:
                os.makedirs(self.folder, exist_ok=True)
                self._fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                                   0o644)
            os.write(self._fd, data)
            own = os.fstat(self._fd)
            if _inode(self.journal_path) == (own.st_dev, own.st_ino):
                return
            self._close_journal()

    def _close_journal(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def compact(self) -> None:
        """Fold the journal into ``.luisy.hash`` and ``.luisy.keys.json`` (if this process
        changed anything); temporary files of writers that were killed are removed."""
        with self._lock:
            if not self._changed:
                return
            with self._file_lock:
                # seal the live journal: appenders that wrote to it after it was read below
                # see it is no longer live and write their line again to the new one
                self._close_journal()
                if os.path.exists(self.journal_path):
                    os.replace(self.journal_path, os.path.join(
                        self.folder, f"{JOURNAL_FILE}.{time.time_ns():020d}{SEALED}"))
                sealed = self._sealed()
                self._read_all()
                outputs, fingerprints = dict(self._file_details()[0]), dict(
                    self._file_details()[1])
                fingerprints.update(self._fps)
                for rel, entry in self._details.items():
                    if entry is None:
                        outputs.pop(rel, None)
                    else:
                        outputs[rel] = entry
                outputs = {rel: d for rel, d in outputs.items() if rel in self.keys}
                used = {d.get("fingerprint") for d in outputs.values()}
                fingerprints = {k: v for k, v in fingerprints.items() if k in used}
                found = leftovers(self.folder)
                for name in (HASH_FILE, DETAILS_FILE):
                    remove_entries(self.folder, found.get(name, ()))
                _write_json(self.details_path, {
                    "version": 1, "outputs": outputs, "fingerprints": fingerprints}, levels=2)
                _write_json(self.hash_path, self.keys)
                self._hash_identity = _inode(self.hash_path)
                for path in sealed:
                    os.remove(path)
                self._details, self._fps = {}, {}
                self._details_file = (outputs, fingerprints)
                self._changed = False


class HashStores:
    """One store per project folder, for one build (``MemoryStore``s in tests: ``make``)."""

    def __init__(self, make: Callable[[str], KeyStore] = HashStore) -> None:
        self._make = make
        self._stores: dict[str, KeyStore] = {}
        self._lock = threading.Lock()

    def for_folder(self, folder: str) -> KeyStore:
        with self._lock:
            store = self._stores.get(folder)
            if store is None:
                store = self._stores[folder] = self._make(folder)
            return store

    def compact(self) -> None:
        for store in list(self._stores.values()):
            store.compact()


class MemoryStore:
    """A :class:`KeyStore` in memory: for tests of the plan and the ledger without files."""

    def __init__(self, folder: str = "") -> None:
        self.folder = folder
        self.keys: dict[str, str] = {}
        self.details: dict[str, dict] = {}

    def get(self, rel_path: str) -> str | None:
        return self.keys.get(rel_path)

    def details_of(self, rel_path: str) -> dict | None:
        return self.details.get(rel_path)

    def record(self, record: Record) -> None:
        self.keys[record.rel_path] = record.key
        self.details[record.rel_path] = {**record.details, **record.fingerprint}

    def forget(self, rel_path: str) -> None:
        self.keys.pop(rel_path, None)
        self.details.pop(rel_path, None)

    def refresh(self) -> None:
        """Nothing else writes to memory."""

    def compact(self) -> None:
        """Nothing to fold."""
