"""Write to a hidden temporary path beside the target, rename into place on success.

Readers see the old target or the new one, never half of either; a failing writer leaves the
old target untouched and no new one. The temporary name keeps the target's ending because some
writers (``DataFrame.to_excel``) choose their format by it.
"""
from __future__ import annotations

import errno
import itertools
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from luisy.errors import OutputNotWrittenError

TMP_MARKER = ".luisy-tmp-"
#: a temporary (or parked old) entry of a writer: ``.luisy-tmp-<8 hex>-[old-]<n>-<final name>``
_LEFTOVER = re.compile(rf"^{re.escape(TMP_MARKER)}[0-9a-f]{{8}}-(?:old-)?[0-9]+-(?P<name>.+)$")


def _new_prefix() -> None:
    """Temporary names unique per process: random per process, then a counter (no syscall)."""
    global _PREFIX, _COUNTER
    _PREFIX = f"{TMP_MARKER}{uuid.uuid4().hex[:8]}-"
    _COUNTER = itertools.count()


_new_prefix()
os.register_at_fork(after_in_child=_new_prefix)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def _replace(tmp: str, final: str) -> None:
    """One rename in the common case; the uncommon ones are told apart by its error."""
    try:
        os.replace(tmp, final)
        return
    except FileNotFoundError:
        if not os.path.lexists(tmp):
            raise OutputNotWrittenError(f"the writer produced nothing at {tmp}") from None
        raise
    except (IsADirectoryError, NotADirectoryError):  # a file for a folder, or the reverse
        _remove(final)
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
        # Folders cannot be swapped in one rename: park the old one, then drop it.
        folder, name = os.path.split(final)
        parked = os.path.join(folder, f"{_PREFIX}old-{next(_COUNTER)}-{name}")
        os.replace(final, parked)
        os.replace(tmp, final)
        _remove(parked)
        return
    os.replace(tmp, final)


def leftover_of(entry: str) -> str | None:
    """The final name a writer's temporary folder entry was for, or None for other entries."""
    match = _LEFTOVER.match(entry)
    return match.group("name") if match else None


def leftovers(folder: str) -> dict[str, list[str]]:
    """What writers that were killed left in ``folder``: entries by the final name they were
    for. Remove them only while no live writer can be writing that name (holding its lock):
    a live writer's entries look the same."""
    found: dict[str, list[str]] = {}
    try:
        entries = os.listdir(folder)
    except FileNotFoundError:
        return found
    for entry in entries:
        name = leftover_of(entry)
        if name is not None:
            found.setdefault(name, []).append(entry)
    return found


def remove_entries(folder: str, entries: Iterable[str]) -> None:
    for entry in entries:
        _remove(os.path.join(folder, entry))


@contextmanager
def atomic_path(final: str) -> Iterator[str]:
    """Yield a temporary path to write a file or a folder; it replaces ``final`` on success.

    Few system calls on the way: with many tiny tasks in threads, each one is a chance to lose
    the GIL to another thread.
    """
    folder, name = os.path.split(os.path.abspath(final))
    if not os.path.isdir(folder):
        os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f"{_PREFIX}{next(_COUNTER)}-{name}")
    try:
        yield tmp
        _replace(tmp, os.path.join(folder, name))
    except BaseException:
        _remove(tmp)
        raise
