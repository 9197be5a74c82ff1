"""Recorded keys: which key the bytes of each output belong to, per project folder.

In ``<working_dir>/<project>/``:

- ``.luisy.hash``: luisy 1.x's shape and spelling (``/proj/interim/Clean_a=1.pkl`` -> key:
  the output's path from the working dir, ``/`` in front), so a 1.x working dir is adopted
  with one entry per output and 1.x tools still read it. Entries spelt without the ``/`` (by
  luisy 2 before it wrote 1.x's spelling) are read as the same output, and win. A ``null``
  key is no key (1.x's cloud sync wrote them for data it did not make);
- ``.luisy.keys.json``: what each key was made of (the fingerprint's parts, parameters,
  upstream keys, data versions), so a plan can say *why* a task reruns, and the checksum of
  the output's bytes when the key was recorded (``content``, see :mod:`luisy.cache.content`),
  so bytes changed behind luisy's back are found; for external data and tables, their data
  version and what was read to get it (``data_version``, ``source``, see
  :mod:`luisy.cache.data_version`);
- ``.luisy.journal``: the changes since those two files were written, one entry a line, each
  a JSON text sequence record (RFC 7464: the byte RS, the JSON, a newline). Recording or
  forgetting a key is one short append under the store's lock, not a rewrite of the store: a
  key is on disk the moment its output is committed (a build waiting for that output then
  finds it), at a cost that does not grow with the store. An entry cut short by a kill is
  never applied; the RS in front of each entry keeps the entry appended after it whole (see
  :meth:`HashStore._apply_entries`). :meth:`HashStore.compact` folds the journal into the two
  files (at the end of a build);
- ``.luisy.lock``: the store's lock file (``filelock``: Linux, macOS and Windows).

A file of the store that is there but cannot be read as what luisy writes (not UTF-8, not
JSON, another shape, a damaged journal entry) raises :class:`~luisy.errors.HashStoreError`
naming the file (and line) and what is wrong, before anything is decided, run or written: were
it taken for an empty store, every task would rerun and the file be overwritten, its keys lost
for good. An *empty* file counts as damaged too: luisy 2 replaces these files whole (temporary
file, then rename), so a kill leaves the old file or the new one, never an empty one; luisy
1.x wrote ``.luisy.hash`` in place (open, truncate, dump), so an empty one is what a 1.x killed
while saving leaves behind: its keys are gone, not none. (A missing file is an empty store.)

:class:`MemoryStore` keeps the same interface in memory, for tests of the layers above.
"""
from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

from filelock import FileLock

from luisy.errors import HashStoreError
from luisy.targets.atomic import atomic_path, leftovers, remove_entries

HASH_FILE = ".luisy.hash"
DETAILS_FILE = ".luisy.keys.json"
JOURNAL_FILE = ".luisy.journal"
#: the byte in front of each journal entry (RFC 7464's record separator)
RS = b"\x1e"
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

    def with_details(self, extra: dict) -> Record:
        """This record with ``extra`` fields in its details (a checksum, a data version)."""
        return dataclasses.replace(self, details={**self.details, **extra})


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


# ------------------------------------------------------------ what the store's files hold
@dataclass(frozen=True)
class _Object:
    """Shape of a JSON object with these fields (each of its shape, when there); those in
    ``required`` must be there."""

    fields: dict[str, Shape]
    required: tuple[str, ...] = ()
    name: str = "an object"


@dataclass(frozen=True)
class _Each:
    """Shape of a JSON object of any names, every value of shape ``each``."""

    each: Shape
    name: str = "an object"


#: a JSON value's shape: the Python types ``json`` reads it as, or an object's shape
Shape = tuple[type, ...] | _Object | _Each

_STRING, _OBJECT, _KEY = (str,), (dict,), (str, type(None))
#: what a recorded key was made of, in ``.luisy.keys.json`` and the journal
_OUTPUT = _Object({"fingerprint": _STRING, "params": _OBJECT, "upstream": _OBJECT,
                   "content": _STRING, "data": _OBJECT, "data_version": _STRING,
                   "source": _OBJECT})
_PARTS = _Object({"code": _OBJECT, "libraries": _OBJECT})
_HASH_SHAPE = _Each(_KEY, "a JSON object of output -> key")
_DETAILS_SHAPE = _Object(
    {"version": (int, float), "outputs": _Each(_OUTPUT), "fingerprints": _Each(_PARTS)},
    ("version", "outputs", "fingerprints"), "a JSON object of version, outputs, fingerprints")
_FINGERPRINT_ENTRY = _Object({"f": _STRING, "p": _PARTS}, ("f", "p"), "a journal entry")
_KEY_ENTRY = _Object({"r": _STRING, "k": _KEY, "d": _OUTPUT}, ("r",), "a journal entry")
_NAMES = {dict: "an object", list: "a list", str: "a string", int: "a number",
          float: "a number", bool: "true or false", type(None): "null"}


def _expected(shape: Shape) -> str:
    if isinstance(shape, tuple):
        return " or ".join(dict.fromkeys(_NAMES[t] for t in shape))
    return shape.name


def _mismatch(value: Any, shape: Shape) -> tuple[tuple[str, ...], str] | None:
    """Where in ``value`` (as ``json`` read it) it departs from ``shape`` (the names leading
    there) and how, or None. Types are compared exactly: ``true`` is no number. Values of a
    plain type are checked in the loop, not by a call each: a store holds thousands."""
    if isinstance(shape, tuple):
        return None if type(value) in shape else (
            (), f"expected {_expected(shape)}, found {_NAMES[type(value)]}")
    if type(value) is not dict:
        return (), f"expected {shape.name}, found {_NAMES[type(value)]}"
    if isinstance(shape, _Each):
        children: Iterable[tuple[str, Shape]] = dict.fromkeys(value, shape.each).items()
    else:
        for name in shape.required:
            if name not in value:
                return (), f"expected {shape.name}, found one without {json.dumps(name)}"
        children = shape.fields.items()
    for name, inner in children:
        if name not in value or (isinstance(inner, tuple) and type(value[name]) in inner):
            continue
        wrong = _mismatch(value[name], inner)
        if wrong is not None:
            return (name, *wrong[0]), wrong[1]
    return None


def _problem(value: Any, shape: Shape) -> str | None:
    """What keeps ``value`` from having ``shape``, in words, or None: the one check of all
    that is read from the store's files."""
    wrong = _mismatch(value, shape)
    if wrong is None:
        return None
    where, what = wrong
    return f"at {' > '.join(json.dumps(name) for name in where)}: {what}" if where else what


def _parse(raw: bytes) -> tuple[Any, str | None]:
    """The JSON in ``raw`` (UTF-8, as luisy writes it), or what keeps it from being JSON."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})"
    except json.JSONDecodeError as exc:
        at = (f"line {exc.lineno} column {exc.colno}" if "\n" in exc.doc.rstrip()
              else f"column {exc.colno}")
        end = ", where the text ends" if exc.pos >= len(exc.doc.rstrip()) else ""
        return None, f"not valid JSON ({exc.msg} at {at}{end})"
    return value, None


#: how to get going again, after what is wrong with a file of the store (luisy changed nothing)
_HASH_REMEDY = ("restore it from a copy, or move it away: the next build then reruns this "
                "project's tasks (in hash-update mode it records the outputs there as current)")
_DETAILS_REMEDY = ("restore it from a copy, or move it away: it only explains why tasks rerun, "
                   "nothing reruns for its loss")
_JOURNAL_REMEDY = (f"restore it from a copy, or move it and {HASH_FILE} away: the next build "
                   "then reruns this project's tasks")


def _load(path: str, shape: Shape, remedy: str) -> Any:
    """The JSON document of shape ``shape`` in ``path``; None when there is no such file."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return None
    if raw:
        value, problem = _parse(raw)
        problem = problem or _problem(value, shape)
    else:  # see the module doc: what a kill of luisy 1.x while saving it leaves
        problem = "empty (0 bytes), its entries lost: a write of it was cut short"
    if problem is not None:
        raise HashStoreError(path, problem, remedy)
    return value


def _damaged(path: str, line: int, problem: str) -> NoReturn:
    """Refuse a journal at ``line`` (each entry starts with the byte RS, 0x1e)."""
    raise HashStoreError(path, f"line {line}: {problem}", _JOURNAL_REMEDY)


def _read_hash(path: str) -> dict[str, str]:
    """The keys in ``.luisy.hash`` under 1.x's spelling (``null``: no key)."""
    entries = _one_spelling(_load(path, _HASH_SHAPE, _HASH_REMEDY) or {})
    return {rel: key for rel, key in entries.items() if key is not None}


def _load_details(path: str) -> dict | None:
    """``.luisy.keys.json`` as it is, None when there is none."""
    data = _load(path, _DETAILS_SHAPE, _DETAILS_REMEDY)
    if data is not None and data["version"] != 1:
        raise HashStoreError(path, f"version {data['version']}, this luisy reads version 1",
                             _DETAILS_REMEDY)
    return data


def _read_details(path: str) -> tuple[dict, dict]:
    """What each output's key was made of (1.x's spelling), and the fingerprints' parts."""
    data = _load_details(path)
    return ({}, {}) if data is None else (_one_spelling(data["outputs"]), data["fingerprints"])


#: ``.luisy.keys.json`` files this process found well-formed: path -> (device, inode, size,
#: modified); a file replaced (luisy writes a new one and renames it) or edited since differs
_SOUND_DETAILS: dict[str, tuple[int, int, int, int]] = {}


def _stamp(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _check_details(path: str) -> None:
    """Refuse a damaged ``.luisy.keys.json`` when the store is read, not only once a plan has
    to explain a rerun or a compaction folds into it: a build must not run anything on a store
    it cannot write back. Each version of the file is read once per process (it is larger
    than ``.luisy.hash``, and ``task.complete()`` reads the store afresh every call); the
    stamp is taken before reading, so a file replaced meanwhile is read again next time."""
    stamp = _stamp(path)
    if stamp is not None and _SOUND_DETAILS.get(path) != stamp:
        _load_details(path)
        _SOUND_DETAILS[path] = stamp


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
    stamp = _stamp(path)
    return None if stamp is None else stamp[:2]


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
        #: the live journal as last read: its identity, how far it was applied (bytes, and
        #: the line it got to)
        self._journal: tuple[tuple[int, int] | None, int, int] = (None, 0, 1)
        #: whether this process changed the store since it was last compacted
        self._changed = False
        #: this process's descriptor of the live journal, open while it appends
        self._fd: int | None = None
        #: device and inode of the journal ``_fd`` is open on
        self._fd_inode: tuple[int, int] | None = None
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
        live journal (the caller holds the store's lock: no compaction runs meanwhile); the
        details file is checked, read when a plan has to explain a rerun."""
        self._hash_identity = _inode(self.hash_path)
        self.keys = _read_hash(self.hash_path)
        _check_details(self.details_path)
        self._details, self._fps, self._details_file = {}, {}, None
        for path in self._sealed():
            with open(path, "rb") as fh:
                self._apply_entries(fh.read(), path, 1)
        self._journal = (None, 0, 1)
        self._apply_journal(self.journal_path)
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
                    or not self._apply_journal(self.journal_path)):
                self.reload()

    def _apply_journal(self, path: str) -> bool:
        """Apply the journal at ``path`` (the live one, or the one a compaction just sealed)
        from where the live one was last read; False when it is another file than the one read
        so far (a compaction sealed that one: reload)."""
        identity, offset, line = self._journal
        try:
            with open(path, "rb") as fh:
                st = os.fstat(fh.fileno())
                if identity is not None and (st.st_dev, st.st_ino) != identity:
                    return False
                fh.seek(offset)
                data = fh.read()
        except FileNotFoundError:
            return identity is None
        taken, line = self._apply_entries(data, path, line)
        self._journal = ((st.st_dev, st.st_ino), offset + taken, line)
        return True

    def _apply_entries(self, data: bytes, path: str, line: int) -> tuple[int, int]:
        """Apply the whole entries of ``data``, read from ``path`` from the start of its line
        ``line``; how many bytes they took, and the line after them.

        An entry is RS, one line of JSON, a newline. One without its newline is cut short: if
        it is the last, it is being written (or its writer was killed) and waits; if another
        entry follows, its writer was killed mid-write (Linux lets a fatal signal cut a write
        to a file short, so does a full disk) and the next append began after it: it is never
        applied, and the RS keeps the next entry whole (in plain JSON lines the two would run
        together, the next one lost). Anything else that is no entry of the journal's shape
        is damage: HashStoreError, naming the line.
        """
        if data[:1] not in (RS, b""):
            _damaged(path, line, "text before its first entry")
        start = 0
        while start < len(data):
            end = data.find(RS, start + 1)
            end = len(data) if end < 0 else end
            entry = data[start + 1:end]
            newline = entry.find(b"\n")
            if 0 <= newline < len(entry) - 1:
                _damaged(path, line + 1, "text outside an entry")
            if newline >= 0:
                value, problem = _parse(entry)
                problem = problem or _problem(value, _FINGERPRINT_ENTRY if type(
                    value) is dict and "f" in value else _KEY_ENTRY)
                if problem is not None:
                    _damaged(path, line, problem)
                self._apply_entry(value)
                line += 1
            elif end == len(data):
                break
            start = end
        return start, line

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
            self._details_file = _read_details(self.details_path)
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
        data = b"".join(RS + json.dumps(e, sort_keys=True, separators=(",", ":")).encode()
                        + b"\n" for e in entries)
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
                own = os.fstat(self._fd)
                self._fd_inode = own.st_dev, own.st_ino
            os.write(self._fd, data)
            if _inode(self.journal_path) == self._fd_inode:
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
                # all of it first: a damaged file stops the fold before anything is renamed
                self._read_all()
                # then seal the live journal and apply what was appended since: appenders
                # that write to it after that see it is no longer live and write their entry
                # again to the new one, for the next fold
                self._close_journal()
                if os.path.exists(self.journal_path):
                    just_sealed = os.path.join(
                        self.folder, f"{JOURNAL_FILE}.{time.time_ns():020d}{SEALED}")
                    os.replace(self.journal_path, just_sealed)
                    if not self._apply_journal(just_sealed):  # not the one read: read all
                        self._read_all()
                sealed = self._sealed()
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
                _SOUND_DETAILS[self.details_path] = _stamp(self.details_path)
                _write_json(self.hash_path, self.keys)
                self._hash_identity = _inode(self.hash_path)
                for path in sealed:
                    os.remove(path)
                self._details, self._fps = {}, {}
                self._details_file = (outputs, fingerprints)
                self._journal = (None, 0, 1)  # the live journal now: what came after the seal
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
