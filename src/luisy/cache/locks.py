"""A lock per output, across processes and threads, released by the kernel when a build dies.

Every task run takes one, so its cost is paid thousands of times per build. A lock file per
output costs a file creation per task run on a first build: a directory operation that, on a
disk shared with the Prefect server's SQLite commits, waits on the filesystem journal
(measured in bench/: without it the 1,000-task fan-in ran 1.22x -> 0.93x the hand-written
flow). So on Linux all outputs of a folder share one lock file and each output locks one
byte of it, at an offset made from its path (63 bits of SHA-1: no two outputs of a project
meet by chance): an open of an existing file and one ``fcntl`` call per task run.

These are Linux's *open file description* locks (``F_OFD_SETLKW``): unlike classic POSIX
record locks they exclude threads of one process too (each acquisition opens the file
anew), and closing the file releases them. Neither portalocker nor filelock offers byte-range
locks of this kind, hence the few lines of ``fcntl`` here. Where they are missing (macOS,
Windows, a filesystem that refuses them) each output gets its own lock file, locked with
portalocker.
"""
from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager

from luisy.errors import LuisyError

try:
    from fcntl import F_OFD_SETLKW, F_WRLCK, fcntl
except ImportError:  # not Linux
    F_OFD_SETLKW = None

#: the shared lock file of a folder's outputs (Linux)
LOCK_FILE = ".luisy.outputs.lock"
#: a lock file per output, elsewhere
LOCKS_DIR = ".luisy.locks"


def _offset(rel_path: str) -> int:
    return int.from_bytes(hashlib.sha1(rel_path.encode()).digest()[:8], "big") >> 1


class OutputLocks:
    """Hands out the lock of an output, named by its project folder and path in it."""

    def __init__(self, byte_range: bool | None = None):
        #: byte-range locks in one file (None: where the platform has them)
        self.byte_range = F_OFD_SETLKW is not None if byte_range is None else byte_range
        self._made: set[str] = set()

    @contextmanager
    def hold(self, folder: str, rel_path: str) -> Iterator[None]:
        """Block until this output's lock is free, hold it for the ``with`` body."""
        if self.byte_range:
            try:
                with self._byte(folder, rel_path):
                    yield
                return
            except _Refused:  # the filesystem has no such locks: per-file locks from now on
                self.byte_range = False
        with self._file(folder, rel_path):
            yield

    def _ready(self, folder: str) -> str:
        """``folder``, made if missing (looked at once per build)."""
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        return folder

    @contextmanager
    def _byte(self, folder: str, rel_path: str) -> Iterator[None]:
        fd = os.open(os.path.join(self._ready(folder), LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks)
            request = struct.pack("@hhqqi4x", F_WRLCK, os.SEEK_SET, _offset(rel_path), 1, 0)
            try:
                fcntl(fd, F_OFD_SETLKW, request)
            except OSError as exc:
                raise _Refused from exc
            yield
        finally:
            os.close(fd)  # releases the lock

    @contextmanager
    def _file(self, folder: str, rel_path: str) -> Iterator[None]:
        # imported here, where it is used: importing portalocker imports redis when that is
        # installed (Prefect's pydocket installs it), ~70 ms of every `import luisy`
        import portalocker

        locks = self._ready(os.path.join(folder, LOCKS_DIR))
        name = hashlib.sha1(rel_path.encode()).hexdigest()
        with open(os.path.join(locks, f"{name}.lock"), "a") as fh:
            portalocker.lock(fh, portalocker.LOCK_EX)
            yield


class _Refused(LuisyError):
    """The filesystem refused a byte-range lock (internal: the caller falls back)."""
