"""What a write knows of the bytes it put in place: their digest, and the file they are in.

When a key is recorded, the checksum of the output's bytes goes with it (``luisy verify``
compares it later). A target that serialises into a file itself (pickle, JSON) hashes the
bytes on their way to the disk, so they are not read back for the checksum: with thousands of
tiny tasks in threads, the read-back (an open, a stat, three reads, a close) cost more than
the write. The file's signature taken as it is closed says which bytes the digest is of: the
key's record uses the digest only while the output still has that signature, and reads the
bytes when anything rewrote it since.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: the digest taken of written bytes (the cache's checksums are of this algorithm)
ALGORITHM = "sha256"
#: a new file, written through a raw descriptor (binary on Windows too)
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def signature_of(st: os.stat_result) -> tuple[int, int, int, int]:
    """Device, inode, mtime and size of a file: what changes when it is written again."""
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size


@dataclass(frozen=True)
class Written:
    """The bytes one write put into a file: their hex digest (:data:`ALGORITHM`) and the
    file's signature right after (a rename keeps it: same inode, same mtime)."""

    digest: str
    signature: tuple[int, int, int, int]


class _Sink:
    """A file object that only writes: each chunk goes to the digest and to the descriptor
    (no buffer of its own: pickle hands over frames of up to 64 KiB, or below protocol 4 the
    whole pickle, and large buffers by themselves; JSON one string)."""

    def __init__(self, fd: int):
        self._fd = fd
        self.digest = hashlib.new(ALGORITHM)

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.digest.update(view)
        done = 0
        while done < len(view):
            done += os.write(self._fd, view[done:])
        return done


def write_hashed(path: str, dump: Callable[[Any], None]) -> Written:
    """Create the file ``path`` and let ``dump(fh)`` write into it, taking the digest of the
    bytes on the way. Four system calls for a small file (open, write, stat, close) where a
    buffered ``open()`` and reading the bytes back took fifteen (strace)."""
    fd = os.open(path, _FLAGS, 0o666)
    try:
        sink = _Sink(fd)
        dump(sink)
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return Written(sink.digest.hexdigest(), signature_of(st))
