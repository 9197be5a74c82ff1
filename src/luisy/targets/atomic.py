"""Write to a hidden temporary path beside the target, rename into place on success.

Readers see the old target or the new one, never half of either; a failing writer leaves the
old target untouched and no new one. The temporary name keeps the target's ending because some
writers (``DataFrame.to_excel``) choose their format by it.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

TMP_MARKER = ".luisy-tmp-"


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


@contextmanager
def atomic_path(final: str) -> Iterator[str]:
    """Yield a temporary path to write a file or a folder; it replaces ``final`` on success."""
    folder, name = os.path.split(os.path.abspath(final))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f"{TMP_MARKER}{uuid.uuid4().hex[:8]}-{name}")
    try:
        yield tmp
        if not os.path.lexists(tmp):
            raise FileNotFoundError(f"the writer produced nothing at {tmp}")
        if os.path.isdir(tmp) and os.path.isdir(final):
            # Folders cannot be swapped in one rename: park the old one, then drop it.
            parked = os.path.join(folder, f"{TMP_MARKER}old-{uuid.uuid4().hex[:8]}-{name}")
            os.replace(final, parked)
            os.replace(tmp, final)
            _remove(parked)
        else:
            if os.path.isdir(final):
                _remove(final)
            os.replace(tmp, final)
    finally:
        _remove(tmp)
