"""What an output's bytes were when its key was recorded: a content checksum per output.

A key says what an output *should* hold (code, parameters, upstream); nothing in it notices
bytes changed behind luisy's back (a csv cut short by hand still reads without error). So
when a key is recorded for a local file or folder, its checksum goes into that output's
details in ``.luisy.keys.json`` (``"content": "sha256:<hex>"``), and ``luisy verify`` or a
build with ``verify=True`` compare it with the bytes there now.

A file costs one open and one read (none when the write itself took the digest: see
:mod:`luisy.targets.written`); a folder, one per file below it, its digest taken over
the sorted relative paths and their files' digests (temporary files of writers are left
out). Targets that cannot tell (tables, remote blobs: no local folder, no signature) record
none: their outputs, like those of stores written before checksums, are "not checkable".
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator

from luisy.cache.store import Record
from luisy.errors import TargetError
from luisy.targets.atomic import TMP_MARKER
from luisy.targets.base import Target
from luisy.targets.written import ALGORITHM, Written

#: the details' field holding the checksum, and how its value starts (:data:`ALGORITHM`)
FIELD = "content"


def checksum(digest: str) -> str:
    """The checksum recorded for bytes of hex digest ``digest``: ``sha256:<hex>``."""
    return f"{ALGORITHM}:{digest}"


def file_digest(path: str) -> str:
    with open(path, "rb") as fh:
        if hasattr(hashlib, "file_digest"):  # Python 3.11+: reads into one buffer
            return hashlib.file_digest(fh, ALGORITHM).hexdigest()
        digest = hashlib.new(ALGORITHM)
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
        return digest.hexdigest()


def files_below(path: str) -> Iterator[tuple[str, str]]:
    """Each file below the folder ``path``: its path relative to ``path`` (``/`` between
    parts) and its full path; temporary files of writers are left out."""
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if TMP_MARKER not in d]
        for name in files:
            if TMP_MARKER not in name:
                full = os.path.join(root, name)
                yield os.path.relpath(full, path).replace(os.sep, "/"), full


def digest_of_parts(digests: Iterable[tuple[str, str]]) -> str:
    """One digest over ``(relative path, file digest)`` pairs, in sorted order: adding,
    removing, renaming or changing a file changes it."""
    text = "".join(sorted(f"{rel}\0{digest}\n" for rel, digest in digests))
    return hashlib.new(ALGORITHM, text.encode()).hexdigest()


def _folder_digest(path: str) -> str:
    return digest_of_parts((rel, file_digest(full)) for rel, full in files_below(path))


def path_checksum(path: str) -> str:
    """``sha256:<hex>`` of the file or folder at ``path`` (a folder: of its files' paths and
    bytes)."""
    return checksum(_folder_digest(path) if os.path.isdir(path) else file_digest(path))


def content_checksum(target: Target) -> str | None:
    """``sha256:<hex>`` of the output's bytes now; None when the target cannot tell (not a
    local file or folder) or the output is not there."""
    if target.folder() is None:
        return None
    path = target.path
    try:
        return path_checksum(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TargetError(f"cannot read {target.location} to checksum it: "
                          f"{type(exc).__name__}: {exc}") from exc


def with_content(record: Record, target: Target, written: Written | None = None) -> Record:
    """``record`` with the checksum of ``target``'s bytes in its details, for committing the
    key right after the output was written (unchanged when the target cannot tell).
    ``written``: what the write that put the bytes there now took of them (their digest), so
    they are not read again."""
    if written is not None:
        return record.with_details({FIELD: checksum(written.digest)})
    found = content_checksum(target)
    if found is None:
        return record
    return record.with_details({FIELD: found})


def recorded_content(details: dict | None) -> str | None:
    """The checksum recorded in an output's details; None for records without one (stores
    written before checksums, targets that cannot tell)."""
    return None if details is None else details.get(FIELD)


def content_change(target: Target, details: dict | None) -> tuple[str, str] | None:
    """The recorded checksum and the one of the bytes there now, when they differ; None when
    they match or there is nothing to compare (no checksum recorded, the target cannot tell).
    """
    recorded = recorded_content(details)
    if recorded is None:
        return None
    found = content_checksum(target)
    return None if found is None or found == recorded else (recorded, found)
